/**
 * Peer tokens with their rooms, each handed out once: VerifyPeerToken must
 * never see the same token twice, or a cache of verified tokens would be
 * measured instead of verification.
 */
export class TokenSupply {
  private tokens: string[] = [];
  private roomIds: string[] = [];
  private next = 0;

  /** Adds a token that no one has used yet. */
  add(token: string, roomId: string): void {
    this.tokens.push(token);
    this.roomIds.push(roomId);
  }

  /** Tokens not handed out yet. */
  get available(): number {
    return this.tokens.length - this.next;
  }

  /** The next unused token and its room, or undefined when none is left. */
  take(): { token: string; roomId: string } | undefined {
    if (this.next === this.tokens.length) return undefined;
    const i = this.next++;
    const taken = { token: this.tokens[i]!, roomId: this.roomIds[i]! };
    // Drop what is handed out, now and then, so a long run does not keep every token.
    if (this.next > 65_536 && this.next * 2 > this.tokens.length) {
      this.tokens = this.tokens.slice(this.next);
      this.roomIds = this.roomIds.slice(this.next);
      this.next = 0;
    }
    return taken;
  }
}
