import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// Served by roomgate at /console/ under a strict CSP (script-src 'self',
// style-src 'self'): nothing may be inlined into the HTML. Two entries: the
// console (index.html) and the join page (join.html, served at /join/<code>),
// which imports no React and shares only the gRPC-Web runtime with the
// console, so a person following a join link downloads little.
export default defineConfig({
  base: '/console/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    rolldownOptions: {
      input: {
        index: fileURLToPath(new URL('index.html', import.meta.url)),
        join: fileURLToPath(new URL('join.html', import.meta.url)),
      },
    },
    // Every asset is a file of its own: no data: URLs for scripts or styles.
    assetsInlineLimit: 0,
    // The polyfill is for browsers without modulepreload; every browser the console supports has it.
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
});
