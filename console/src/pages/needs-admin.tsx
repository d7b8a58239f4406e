/** What an admin-only page shows to a token without scope admin. */
export function NeedsAdmin() {
  return <p className="note">This page needs scope admin: this token cannot list or change what it shows.</p>;
}
