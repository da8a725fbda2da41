/**
 * Control characters, line and paragraph separators, and bidirectional overrides: what can start
 * a new line in a mail reader, or make text look other than it is.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * A string from a key or the data, made safe to put into one line of an e-mail: each unsafe
 * character becomes a visible escape (`\n`, `\u0007`), so a crafted key cannot write its own lines.
 */
export function escapeLine(text: string): string {
  return text.replace(
    UNSAFE,
    (c) => NAMED[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
