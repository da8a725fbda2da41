/**
 * Remembers which table keys a file has produced, to count duplicates across the whole file
 * without keeping a million strings: each key is stored as a 64-bit hash (two FNV-1a variants)
 * in an open-addressing table, about 16 bytes per distinct key. A collision could only miscount
 * a duplicate (odds ~n²/2⁶⁵); it never changes what is written, which is decided on exact keys.
 */
export class KeyTracker {
  private slots: Uint32Array;
  private mask: number;
  private used = 0;

  public constructor(initialCapacity = 1024) {
    let capacity = 16;
    while (capacity < initialCapacity * 2) capacity *= 2;
    this.slots = new Uint32Array(capacity * 2);
    this.mask = capacity - 1;
  }

  public get size(): number {
    return this.used;
  }

  /** Adds the key; returns true when it had been seen before. */
  public add(key: string): boolean {
    let h1 = 0x811c9dc5;
    let h2 = 0x01000193;
    for (let i = 0; i < key.length; i++) {
      const c = key.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995) ^ (h2 >>> 15);
    }
    // 0/0 marks an empty slot, so keep the stored pair non-zero.
    h1 = (h1 | 1) >>> 0;
    h2 >>>= 0;
    return this.insert(h1, h2);
  }

  /**
   * The set, compactly, for the next part of a long file: each key's 64-bit hash as two
   * little-endian 32-bit words (8 bytes per distinct key, no key itself).
   */
  public toBuffer(): Buffer {
    const out = Buffer.alloc(this.used * 8);
    let at = 0;
    for (let slot = 0; slot < this.slots.length; slot += 2) {
      const h1 = this.slots[slot] ?? 0;
      if (h1 === 0) continue;
      out.writeUInt32LE(h1, at);
      out.writeUInt32LE(this.slots[slot + 1] ?? 0, at + 4);
      at += 8;
    }
    return out;
  }

  /** The set that toBuffer() wrote. */
  public static fromBuffer(bytes: Uint8Array): KeyTracker {
    const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const tracker = new KeyTracker(Math.max(1024, buffer.length / 8));
    for (let at = 0; at + 8 <= buffer.length; at += 8) {
      tracker.insert(buffer.readUInt32LE(at), buffer.readUInt32LE(at + 4));
    }
    return tracker;
  }

  private insert(h1: number, h2: number): boolean {
    let slot = (h2 ^ (h1 >>> 7)) & this.mask;
    for (;;) {
      const at = slot * 2;
      const s1 = this.slots[at];
      if (s1 === 0) {
        this.slots[at] = h1;
        this.slots[at + 1] = h2;
        if (++this.used * 2 > this.mask) this.grow();
        return false;
      }
      if (s1 === h1 && this.slots[at + 1] === h2) return true;
      slot = (slot + 1) & this.mask;
    }
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Uint32Array(old.length * 2);
    this.mask = old.length - 1;
    this.used = 0;
    for (let at = 0; at < old.length; at += 2) {
      const h1 = old[at] ?? 0;
      if (h1 !== 0) this.insert(h1, old[at + 1] ?? 0);
    }
  }
}
