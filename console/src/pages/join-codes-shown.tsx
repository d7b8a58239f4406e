import { CopyField } from '../components.js';
import { JoinCodeKind } from '../gen/roomgate/v1/resources_pb.js';
import { QrCode } from '../qr-code.js';
import type { CreatedCode } from './join-codes-create.js';

/** A new code, shown this once: its join link with Copy and a QR code, and a short code as typed. */
export function ShownCode({ created, onDone }: { created: CreatedCode; onDone: () => void }) {
  return (
    <div className="panel secret" aria-label="New join code" role="region">
      <p className="note">This code is shown only now: roomgate keeps only its hash. Copy the link or scan the QR code before you leave the page.</p>
      <CopyField label="Join link" value={created.link} />
      {created.kind === JoinCodeKind.SHORT && <CopyField label="Short code" value={created.code} button="Copy short code" />}
      <QrCode text={created.link} label="QR code for the join link" />
      <button type="button" className="secondary" onClick={onDone}>
        Done
      </button>
    </div>
  );
}
