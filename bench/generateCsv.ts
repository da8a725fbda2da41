import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rename } from 'node:fs/promises';

export interface GenerateOptions {
  rows: number;
  /** Windows line endings (Excel's "CSV UTF-8" save). */
  crlf?: boolean;
  /** First student number: a warm-up file gets its own keys, apart from every measured file. */
  firstStudent?: number;
}

/** Bumped whenever the generated content changes, so cached files are rebuilt. */
export const GENERATOR_VERSION = 1;

const FIRST_NAMES = [
  'Olivia',
  'Liam',
  'Emma',
  'Noah',
  'Amelia',
  'Oliver',
  'Sophia',
  'Elijah',
  'Mia',
  'Lucas',
  'Charlotte',
  'Mateo',
  'Ava',
  'James',
  'Isla',
  'Leo',
  'Grace',
  'Henry',
  'Ruby',
  'Jack',
  // Non-ASCII names: two- and three-byte UTF-8 sequences.
  'José',
  'Zoë',
  'Łukasz',
  'Søren',
  'Renée',
  'Jürgen',
  'Ñuño',
  'Анна',
  '王芳',
  'Aoife',
];

const LAST_NAMES = [
  'Smith',
  'Johnson',
  'Williams',
  'Brown',
  'Jones',
  'Garcia',
  'Miller',
  'Davis',
  'Wilson',
  'Taylor',
  'Anderson',
  'Thomas',
  'Moore',
  'Martin',
  'Lee',
  "O'Brien",
  'Müller',
  'Nguyễn',
  'Kowalski',
  'Dubois',
  'Ferreira',
  'Sato',
  'Ødegård',
  'Иванова',
];

const COURSES = [
  'Mathematics',
  'Physics',
  'Chemistry',
  'Biology',
  'Computer Science',
  'History',
  'Economics',
  'Philosophy',
  'Literature',
  'Art History',
  'Music Theory',
  'Psychology',
  'Sociology',
];

/** Last names that need quoting; courses get a quoted variant such as "Physics, Advanced". */
const QUOTED_LAST_NAMES = ['"Smith, Jr."', '"García, López"', '"Brown, III"'];

/** mulberry32: small, fast and deterministic, so every run sees the same file. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Four enrolments per student, every (student_id, course) pair distinct. */
function row(index: number, firstStudent: number, next: () => number): string {
  const student = firstStudent + Math.floor(index / 4);
  // Spread the ids over the letters instead of counting up from A00000 (7919 is coprime with
  // 2,600,000, so the mapping is one-to-one).
  const id = (student * 7919 + 12345) % 2_600_000;
  const studentId = `${String.fromCharCode(65 + Math.floor(id / 100_000))}${String(id % 100_000).padStart(5, '0')}`;
  // 3 is coprime with 13 courses: a student's four courses are distinct.
  const base = COURSES[(student * 5 + (index % 4) * 3) % COURSES.length] as string;
  // About 5% of rows carry a quoted field with a comma (a few with doubled quotes too).
  const quoted = next() < 0.05;
  const quoteCourse = quoted && next() < 0.5;
  const course = !quoteCourse
    ? base
    : next() < 0.2
      ? `"${base}, ""Honours"""`
      : `"${base}, Advanced"`;
  // A student keeps one name across their enrolments; about 5% of names need quoting.
  const lastName =
    quoted && !quoteCourse
      ? (QUOTED_LAST_NAMES[student % QUOTED_LAST_NAMES.length] as string)
      : (LAST_NAMES[(student * 7) % LAST_NAMES.length] as string);
  return `${studentId},${FIRST_NAMES[(student * 11) % FIRST_NAMES.length]},${lastName},${course}`;
}

/**
 * Writes a realistic enrolment CSV: header, `rows` valid and distinct rows, ~5% with a quoted
 * field holding a comma, ~10% non-ASCII names. Deterministic, written via a temporary name so an
 * interrupted run never leaves a truncated file behind.
 */
export async function generateCsv(path: string, options: GenerateOptions): Promise<void> {
  const eol = options.crlf ? '\r\n' : '\n';
  const next = random(7);
  const temporary = `${path}.partial`;
  const out = createWriteStream(temporary);
  let chunk = `student_id,first_name,last_name,course${eol}`;
  for (let i = 0; i < options.rows; i++) {
    chunk += row(i, options.firstStudent ?? 0, next) + eol;
    if (chunk.length > 1 << 16) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
  await rename(temporary, path);
}
