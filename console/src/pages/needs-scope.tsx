/** What a page shows to a token that lacks the scope it needs, instead of calling for a PERMISSION_DENIED. */
export function NeedsScope({ scope }: { scope: 'admin' }) {
  return <p className="note">This page needs scope {scope}: this token cannot list or change what it shows.</p>;
}
