import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Served by roomgate at /console/ under a strict CSP (script-src 'self',
// style-src 'self'): nothing may be inlined into index.html.
export default defineConfig({
  base: '/console/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Every asset is a file of its own: no data: URLs for scripts or styles.
    assetsInlineLimit: 0,
    // The polyfill is for browsers without modulepreload; every browser the console supports has it.
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
});
