/**
 * Bounds for strings taken from the data, applied where they are created (a rejected value, a
 * first row, a header's names), so no record or message downstream can overflow.
 */

/** The longest value the rejected-rows report keeps (a few KB in UTF-8), marker included. */
export const MAX_VALUE_CHARS = 1_000;

/** How many header names a message lists, and how much of each. */
const MAX_NAMES = 10;
const MAX_NAME_CHARS = 64;

const ELLIPSIS = '…';

/** The first `max` UTF-16 units of `text`, one less when that would split a surrogate pair. */
function head(text: string, max: number): string {
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

/** A value cut to at most MAX_VALUE_CHARS, ending in a marker that says how long it was. */
export function clipValue(value: string, max = MAX_VALUE_CHARS): string {
  if (value.length <= max) return value;
  const marker = `${ELLIPSIS} [cut: ${value.length} characters]`;
  return `${head(value, max - marker.length)}${marker}`;
}

/**
 * Names from a header, for a message: each quoted as a JSON string (so quotes, line breaks and
 * control characters show as escapes) and cut to 64 characters, at most 10 of them and a count
 * of the rest.
 */
export function quoteNames(names: readonly string[]): string {
  const listed = names
    .slice(0, MAX_NAMES)
    .map((name) =>
      JSON.stringify(
        name.length > MAX_NAME_CHARS ? `${head(name, MAX_NAME_CHARS - 1)}${ELLIPSIS}` : name,
      ),
    )
    .join(', ');
  const more = names.length - MAX_NAMES;
  return more > 0 ? `${listed} and ${more} more` : listed;
}
