import { useState, type FormEvent } from 'react';
import { CopyField, Dialog, Field, useDialogAlerts } from '../components.js';
import type { Peer } from '../gen/roomgate/v1/resources_pb.js';
import { useAction } from '../hooks.js';
import { useSession } from '../session.js';

type Open = 'none' | 'kick' | 'ban';

/** A peer row's Kick, Kick and ban, and Issue token, for tokens that can write. */
export function PeerActions({ roomId, peer, onKicked }: { roomId: string; peer: Peer; onKicked: (peerId: string) => void }) {
  const { api } = useSession();
  const [open, setOpen] = useState<Open>('none');
  const [token, setToken] = useState('');
  const [busy, run] = useAction();
  const issue = () =>
    void run(async () => {
      const issued = await api.tokens.issuePeerToken({ roomId, peerId: peer.id });
      setToken(issued.peerToken);
    });
  return (
    <div className="actions">
      <div className="row">
        <button type="button" onClick={() => setOpen('kick')}>
          Kick
        </button>
        <button type="button" onClick={() => setOpen('ban')}>
          Kick and ban
        </button>
        <button type="button" disabled={busy} onClick={issue}>
          Issue token
        </button>
      </div>
      {token && <CopyField label="Peer token" value={token} />}
      {open === 'kick' && <KickDialog roomId={roomId} peer={peer} onClose={() => setOpen('none')} onKicked={onKicked} />}
      {open === 'ban' && <BanDialog roomId={roomId} peer={peer} onClose={() => setOpen('none')} onKicked={onKicked} />}
    </div>
  );
}

interface KickProps {
  roomId: string;
  peer: Peer;
  onClose: () => void;
  /** Called once DeletePeer succeeded: the row leaves without waiting for PEER_DELETED. */
  onKicked: (peerId: string) => void;
}

/** Confirms DeletePeer. */
function KickDialog({ roomId, peer, onClose, onKicked }: KickProps) {
  const { api } = useSession();
  const [report, alerts] = useDialogAlerts();
  const [busy, run] = useAction(report);
  const kick = async () => {
    if (await run(() => api.peers.deletePeer({ roomId, peerId: peer.id }))) {
      onClose();
      onKicked(peer.id);
    }
  };
  return (
    <Dialog title="Kick peer" onCancel={onClose}>
      {alerts}
      <p>
        Delete peer <span className="mono">{peer.id}</span> ({peer.identity}) and revoke its tokens?
      </p>
      <div className="row">
        <button type="button" className="danger" disabled={busy} onClick={() => void kick()}>
          Kick peer
        </button>
        <button type="button" className="secondary" onClick={onClose}>
          Cancel
        </button>
      </div>
    </Dialog>
  );
}

/** DeletePeer with a ban of the peer's identity in this room. */
function BanDialog({ roomId, peer, onClose, onKicked }: KickProps) {
  const { api } = useSession();
  const [report, alerts] = useDialogAlerts();
  const [busy, run] = useAction(report);
  const [duration, setDuration] = useState('3600');
  const [reason, setReason] = useState('');
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const ban = { environmentWide: false, durationSeconds: Number(duration || 0), reason: reason.trim() };
    if (await run(() => api.peers.deletePeer({ roomId, peerId: peer.id, ban }))) {
      onClose();
      onKicked(peer.id);
    }
  };
  return (
    <Dialog title="Kick and ban" onCancel={onClose}>
      {alerts}
      <form onSubmit={(e) => void submit(e)}>
        <p>
          Delete peer <span className="mono">{peer.id}</span> and keep identity <strong>{peer.identity}</strong> out of this room.
        </p>
        <Field label="Ban duration (seconds)">
          {(id) => <input id={id} type="number" min={0} step={1} value={duration} onChange={(e) => setDuration(e.target.value)} />}
        </Field>
        <p className="hint">
          0 keeps the ban until it is lifted.
        </p>
        <Field label="Reason">{(id) => <input id={id} value={reason} onChange={(e) => setReason(e.target.value)} />}</Field>
        <div className="row">
          <button type="submit" className="danger" disabled={busy}>
            Kick and ban
          </button>
          <button type="button" className="secondary" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}
