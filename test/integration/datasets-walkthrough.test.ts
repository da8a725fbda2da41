import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lambdaContext } from '../../src/local/lambdaContext.ts';
import { useLocalStack } from '../support/harness.ts';

/*
 * docs/datasets.md, "Adding a dataset: one schema file and one entry", step by step: the room
 * schema of the page, the repository's declaration with the page's entry added (both in a
 * temporary folder, so the repository is left alone), then a room list loaded through the real
 * handler into a table of its own.
 */
const dir = mkdtempSync(join(tmpdir(), 'datasets-walkthrough-'));

// Step 1: the schema, as the page shows it.
const roomSchema = join(dir, 'room.schema.json');
writeFileSync(
  roomSchema,
  JSON.stringify({
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'Room',
    type: 'object',
    'x-table-key': { partition: 'building', sort: 'room' },
    properties: {
      building: { type: 'string', minLength: 1, maxLength: 50 },
      room: { type: 'integer', minimum: 1 },
      seats: { type: 'integer', minimum: 0 },
    },
    required: ['building', 'room', 'seats'],
    additionalProperties: false,
  }),
);

// Step 2: the entry, added to the repository's declaration.
const declaration = join(dir, 'datasets.json');
const repository = JSON.parse(readFileSync('schemas/datasets.json', 'utf8')) as {
  datasets: unknown[];
};
writeFileSync(
  declaration,
  JSON.stringify({
    datasets: [...repository.datasets, { name: 'rooms', prefix: 'rooms/', schema: roomSchema }],
  }),
);

// Step 3: the stack, as `npm start` makes it from that declaration.
const local = useLocalStack({ datasetsFile: declaration });

describe('Walkthrough: adding a dataset (docs/datasets.md)', () => {
  it('packages a table for the new dataset, keyed as its schema says', () => {
    // Act: what serverless.yml's ${file(./scripts/datasets.cjs)} variables read
    const { datasets } = createRequire(import.meta.url)('../../scripts/datasets.cjs') as {
      datasets: (file: string) => { name: string; logicalId: string; key: unknown[] }[];
    };

    // Assess
    expect(datasets(declaration).find((d) => d.name === 'rooms')).toEqual({
      name: 'rooms',
      logicalId: 'RoomsTable',
      key: [
        { name: 'building', type: 'S' },
        { name: 'room', type: 'N' },
      ],
    });
  });

  it('loads rooms/main.csv into the rooms table, and the other datasets still load', async () => {
    // Prepare
    const handler = local.handler();
    const rooms = 'building,room,seats\nMain,101,30\nMain,102,24\nAnnex,101,12\n';
    const enrolments = 'student_id,first_name,last_name,course\nR60006,Rosa,Parks,Civics\n';

    // Act
    await local.drive(handler, await local.upload('rooms/main.csv', rooms), lambdaContext);
    await local.drive(handler, await local.upload('term.csv', enrolments), lambdaContext);

    // Assess
    const items = await local.scan('rooms');
    expect(items.map((item) => `${item.building} ${item.room}: ${item.seats}`).sort()).toEqual([
      'Annex 101: 12',
      'Main 101: 30',
      'Main 102: 24',
    ]);
    expect(local.summariesFor('rooms/main.csv')[0]).toMatchObject({
      status: 'SUCCEEDED',
      dataset: 'rooms',
    });
    expect((await local.scan('students')).map((item) => item.student_id)).toEqual(['R60006']);
  });
});
