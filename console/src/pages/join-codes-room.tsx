import { Code, ConnectError } from '@connectrpc/connect';
import { useId } from 'react';
import type { Api } from '../api.js';
import { Field } from '../components.js';
import { useDebounced, useLoad } from '../hooks.js';
import { useSession } from '../session.js';

const SUGGESTIONS = 20;
const NAME_FILTER_MAX = 64;

/**
 * A room field: a textbox for a room ID with a list of rooms whose names
 * contain what is typed (ListRooms `name_filter`), so any room can be found
 * however many pages of rooms there are; picking one puts its ID in.
 */
export function RoomInput({ label, value, onChange, required }: { label: string; value: string; onChange: (value: string) => void; required?: boolean }) {
  const { api } = useSession();
  const listId = useId();
  const typed = useDebounced(value.trim(), 300);
  const { data } = useLoad(
    (signal) => api.rooms.listRooms({ pageSize: SUGGESTIONS, nameFilter: typed.slice(0, NAME_FILTER_MAX) }, { signal }),
    [api, typed],
  );
  return (
    <Field label={label}>
      {(id) => (
        <>
          <input id={id} list={listId} required={required} autoComplete="off" value={value} placeholder="Room name or ID" onChange={(e) => onChange(e.target.value)} />
          <datalist id={listId}>
            {data?.rooms.map((room) => (
              <option key={room.id} value={room.id}>
                {room.name || room.id}
              </option>
            ))}
          </datalist>
        </>
      )}
    </Field>
  );
}

/**
 * The room ID meant by what was typed in a {@link RoomInput}: the ID of the one
 * room with exactly that name, or the text itself (an ID; the server answers
 * NOT_FOUND for an unknown one). Several rooms of that name are ambiguous.
 */
export async function resolveRoomId(api: Api, text: string): Promise<string> {
  const typed = text.trim();
  if (!typed || typed.length > NAME_FILTER_MAX) return typed;
  const { rooms } = await api.rooms.listRooms({ pageSize: 100, nameFilter: typed });
  const named = rooms.filter((room) => room.name === typed);
  if (named.length > 1) throw new ConnectError(`${named.length} rooms are named "${typed}": choose one by its ID from the list`, Code.InvalidArgument);
  return named[0]?.id ?? typed;
}
