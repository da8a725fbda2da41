import { describe, expect, it } from 'vitest';
import { Utf8Validator } from '../../../src/csv/Utf8Validator.ts';
import { FileProblem } from '../../../src/errors.ts';

type Outcome = { ok: true; bytes: Buffer } | { ok: false; problem: FileProblem };

/** Pushes `chunks` through a validator and collects what comes out, or the problem it raised. */
async function validate(chunks: Buffer[], validator = new Utf8Validator()): Promise<Outcome> {
  const out: Buffer[] = [];
  validator.on('data', (chunk: Buffer) => out.push(chunk));
  const done = new Promise<void>((resolve, reject) => {
    validator.on('end', resolve);
    validator.on('error', reject);
  });
  for (const chunk of chunks) validator.write(chunk);
  validator.end();
  try {
    await done;
    return { ok: true, bytes: Buffer.concat(out) };
  } catch (error) {
    if (!(error instanceof FileProblem)) throw error;
    return { ok: false, problem: error };
  }
}

async function problemOf(chunks: Buffer[]): Promise<FileProblem> {
  const outcome = await validate(chunks);
  if (outcome.ok) throw new Error('expected the validator to reject the bytes');
  return outcome.problem;
}

/** Every way to cut `bytes` into two chunks, plus one byte at a time. */
function splits(bytes: Buffer): Buffer[][] {
  const ways: Buffer[][] = [];
  for (let at = 0; at <= bytes.length; at++) ways.push([bytes.subarray(0, at), bytes.subarray(at)]);
  ways.push([...bytes].map((byte) => Buffer.of(byte)));
  return ways;
}

const latin1 = (text: string): Buffer => Buffer.from(text, 'latin1');

describe('Class: Utf8Validator', () => {
  it('passes valid UTF-8 through unchanged, whatever the chunk boundaries', async () => {
    // Prepare: 1-, 2-, 3- and 4-byte characters, and a BOM
    const text = '\uFEFFstudent_id,first_name\nA10001,Zoë Ñúñez 中文 😀,€\r\n';
    const bytes = Buffer.from(text, 'utf8');

    for (const chunks of splits(bytes)) {
      // Act
      const outcome = await validate(chunks);

      // Assess
      expect(outcome.ok).toBe(true);
      if (outcome.ok) expect(outcome.bytes.toString('utf8')).toBe(text);
    }
  });

  it('splits every multi-byte sequence at every offset without complaint', async () => {
    for (const char of ['é', '€', '😀']) {
      const bytes = Buffer.from(`a${char}b`, 'utf8');
      for (let cut = 1; cut < bytes.length; cut++) {
        // Act
        const outcome = await validate([bytes.subarray(0, cut), bytes.subarray(cut)]);

        // Assess
        expect(outcome, `${char} cut at ${cut}`).toEqual({ ok: true, bytes });
      }
    }
  });

  it('reports an invalid byte with its line and byte offset, wherever the chunks break', async () => {
    // Prepare: valid UTF-8 first (so this is not mistaken for Windows-1252), then a stray 0xFF
    const bytes = Buffer.concat([
      Buffer.from('id,name\nA1,Zoë\nA2,', 'utf8'),
      Buffer.of(0xff),
      Buffer.from('x\n'),
    ]);
    const offset = bytes.indexOf(0xff);

    for (const chunks of splits(bytes)) {
      // Act
      const problem = await problemOf(chunks);

      // Assess
      expect(problem.code).toBe('INVALID_UTF8');
      expect(problem.line).toBe(3);
      expect(problem.message).toContain(`invalid byte 0xFF at line 3, byte offset ${offset}`);
      expect(problem.message).toContain('CSV UTF-8');
    }
  });

  it.each([
    ['a lone continuation byte', [0x80]],
    ['an overlong encoding', [0xc0, 0xaf]],
    ['a UTF-16 surrogate', [0xed, 0xa0, 0x80]],
    ['a code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['a lead byte followed by ASCII', [0xe2, 0x41, 0x42]],
  ])('rejects %s after valid UTF-8 as INVALID_UTF8', async (_name, bad) => {
    // Prepare
    const bytes = Buffer.concat([
      Buffer.from('Zoë\n', 'utf8'),
      Buffer.from(bad),
      Buffer.from('\n'),
    ]);

    // Act
    const problem = await problemOf([bytes]);

    // Assess
    expect(problem.code).toBe('INVALID_UTF8');
    expect(problem.message).toContain('line 2, byte offset 5');
  });

  it('recognises Excel Windows-1252 bytes (0xE9 "é") and says to save as "CSV UTF-8"', async () => {
    // Prepare: what Excel's plain "CSV" writes for José
    const bytes = latin1(
      'student_id,first_name,last_name,course\r\nA10003,Jos\xE9,Nunez,Databases\r\n',
    );

    for (const chunks of splits(bytes)) {
      // Act
      const problem = await problemOf(chunks);

      // Assess
      expect(problem.code).toBe('WINDOWS_1252');
      expect(problem.line).toBe(2);
      expect(problem.message).toContain('byte 0xE9 at line 2, byte offset 50');
      expect(problem.message).toContain('"é" in Windows-1252');
      expect(problem.message).toContain('"CSV UTF-8 (Comma delimited)"');
    }
  });

  it.each([
    [0x80, '€'],
    [0x93, '“'],
    [0x96, '–'],
    [0x9f, 'Ÿ'],
    [0xf1, 'ñ'],
  ])(
    'names the Windows-1252 character of byte %d (%s), not a control character',
    async (byte, glyph) => {
      // Act
      const problem = await problemOf([
        Buffer.concat([latin1('name\nA'), Buffer.of(byte), latin1('\n')]),
      ]);

      // Assess
      expect(problem.code).toBe('WINDOWS_1252');
      expect(problem.message).toContain(`looks like "${glyph}" in Windows-1252`);
      expect(problem.message).not.toMatch(/[\u0080-\u009f]/);
    },
  );

  it('still says Windows-1252 for a byte that code page leaves unassigned (0x81)', async () => {
    // Act
    const problem = await problemOf([latin1('name\nA\x81\n')]);

    // Assess
    expect(problem.code).toBe('WINDOWS_1252');
    expect(problem.message).toContain('byte 0x81 at line 2, byte offset 6 looks like Windows-1252');
    expect(problem.message).not.toMatch(/[\u0080-\u009f]/);
  });

  it('rejects a UTF-16 file by its BOM, little- or big-endian, however the first chunk is cut', async () => {
    for (const bom of [
      [0xff, 0xfe],
      [0xfe, 0xff],
    ]) {
      const bytes = Buffer.concat([Buffer.from(bom), Buffer.from('a\0,\0b\0', 'latin1')]);
      for (const chunks of splits(bytes)) {
        // Act
        const problem = await problemOf(chunks);

        // Assess
        expect(problem.code).toBe('INVALID_UTF8');
        expect(problem.message).toContain('UTF-16');
        expect(problem.line).toBe(1);
      }
    }
  });

  it('rejects a multi-byte sequence cut short at the end of the file', async () => {
    // Prepare: "€" is E2 82 AC; the file ends after E2 82
    const bytes = Buffer.concat([Buffer.from('Zoë\nab', 'utf8'), Buffer.of(0xe2, 0x82)]);

    for (const chunks of splits(bytes)) {
      // Act
      const problem = await problemOf(chunks);

      // Assess
      expect(problem.code).toBe('INVALID_UTF8');
      expect(problem.message).toContain('invalid byte 0xE2 at line 2, byte offset 7');
    }
  });

  it('passes an empty input', async () => {
    // Act & Assess
    expect(await validate([])).toEqual({ ok: true, bytes: Buffer.alloc(0) });
  });
});

describe('Class: Utf8Validator, falling back to Windows-1252 (SOURCE_ENCODING=auto)', () => {
  it('passes every byte on and says so when only ASCII came before the first bad byte, however the chunks fall', async () => {
    // Prepare
    const bytes = Buffer.from('id,name\r\nA1,Jos\xe9 \x80\r\nA2,Ann\r\n', 'latin1');

    for (const chunks of splits(bytes)) {
      // Act
      const validator = new Utf8Validator(0, 1, true);
      const outcome = await validate(chunks, validator);

      // Assess
      expect(outcome).toEqual({ ok: true, bytes });
      expect(validator.readAsWindows1252).toBe(true);
    }
  });

  it('keeps a file whose first non-ASCII bytes are UTF-8 as UTF-8, and rejects a later bad byte', async () => {
    // Prepare
    const validator = new Utf8Validator(0, 1, true);
    const bytes = Buffer.concat([Buffer.from('a,Zoë\n'), Buffer.from([0xe9, 0x0a])]);

    // Act
    const outcome = await validate([bytes], validator);

    // Assess
    expect(outcome.ok).toBe(false);
    expect(validator.sawUtf8).toBe(true);
    expect(validator.readAsWindows1252).toBe(false);
  });
});
