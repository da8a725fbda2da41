const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * Control characters (C0, DEL, C1), line and paragraph separators, and bidirectional marks and
 * overrides: what can start a new line in a mail reader, or make text look other than it is.
 */
function unsafe(code: number): boolean {
  return (
    code < 0x20 ||
    (code >= 0x7f && code <= 0x9f) ||
    code === 0x200e ||
    code === 0x200f ||
    code === 0x2028 ||
    code === 0x2029 ||
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069)
  );
}

/**
 * A string from a key or the data, made safe to put into one line of an e-mail: each unsafe
 * character becomes a visible escape (`\n`, `\u0007`), so a crafted key cannot write its own lines.
 */
export function escapeLine(text: string): string {
  let out = '';
  for (const c of text) {
    const code = c.charCodeAt(0);
    out += unsafe(code) ? (NAMED[c] ?? `\\u${code.toString(16).padStart(4, '0')}`) : c;
  }
  return out;
}
