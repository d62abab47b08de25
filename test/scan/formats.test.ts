import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { scanBytes, type Finding, type ScanReport } from '../../src/scan/index.js';
import {
  Pickle,
  gguf,
  onnxModel,
  protocol0System,
  protocol4StackGlobal,
  safetensors,
  torchStateDictPickle,
  torchZip,
  validSafetensors,
  zipArchive,
} from './builders.js';

const rules = (r: ScanReport) => r.findings.map((f: Finding) => f.rule).sort();
const brief = (r: ScanReport) =>
  r.findings.map((f) => [f.rule, f.severity, f.member ?? null] as const).sort();

describe('PyTorch zip archives', () => {
  test('a malicious data.pkl inside the archive is found, with member and offset', () => {
    const report = scanBytes('model.pt', torchZip(protocol4StackGlobal()));
    assert.equal(report.files[0]?.format, 'pytorch-zip');
    assert.deepEqual(report.files[0]?.pickles, ['archive/data.pkl']);
    const [f] = report.findings;
    assert.ok(f?.kind === 'callable');
    assert.equal(f.member, 'archive/data.pkl');
    assert.equal(f.offset, 28);
    assert.equal(f.callable, 'posix.system');
    assert.equal(f.severity, 'critical');
  });

  test('a deflated data.pkl is inflated (bounded) and scanned', () => {
    const report = scanBytes('model.pt', torchZip(protocol0System(), { method: 8 }));
    assert.deepEqual(brief(report), [
      ['pickle.dangerous-callable', 'critical', 'archive/data.pkl'],
    ]);
  });

  test('a clean state_dict archive has no findings (zip64 directory too)', () => {
    assert.deepEqual(
      scanBytes('model.pt', torchZip(torchStateDictPickle(['w', 'b']))).findings,
      [],
    );
    const z64 = zipArchive([{ name: 'archive/data.pkl', data: torchStateDictPickle(['w']) }], {
      zip64: true,
    });
    const report = scanBytes('model.pt', z64);
    assert.deepEqual(report.findings, []);
    assert.deepEqual(report.files[0]?.pickles, ['archive/data.pkl']);
  });

  test('a zip bomb is refused by ratio before inflating, and by output size while inflating', () => {
    const zeros = Buffer.alloc(8 * 1024 * 1024);
    const bomb = zipArchive([{ name: 'archive/data.pkl', data: zeros, method: 8 }]);
    assert.ok(bomb.length < 20_000);
    const r1 = scanBytes('model.pt', bomb);
    assert.deepEqual(brief(r1), [['zip.bomb', 'high', 'archive/data.pkl']]);
    assert.equal(r1.files[0]?.status, 'incomplete');
    // An entry that lies about its size: the inflater stops at the declared size.
    const liar = zipArchive([
      { name: 'archive/data.pkl', data: zeros, method: 8, declaredSize: 1000 },
    ]);
    const r2 = scanBytes('model.pt', liar);
    assert.deepEqual(brief(r2), [['zip.bomb', 'high', 'archive/data.pkl']]);
    // And the absolute limit applies whatever the ratio.
    const big = zipArchive([
      { name: 'archive/data.pkl', data: Buffer.alloc(4096, 0x4e), method: 8 },
    ]);
    const r3 = scanBytes('model.pt', big, { limits: { maxInflateBytes: 1024 } });
    assert.deepEqual(brief(r3), [['scan.too-large', 'high', 'archive/data.pkl']]);
  });

  test('duplicate names, overlapping entries, mismatched local headers and unsafe names', () => {
    const pkl = torchStateDictPickle(['w']);
    assert.deepEqual(
      rules(
        scanBytes(
          'm.pt',
          zipArchive([
            { name: 'archive/data.pkl', data: pkl },
            { name: 'archive/data.pkl', data: protocol0System() },
          ]),
        ),
      ),
      ['pickle.dangerous-callable', 'zip.duplicate-entry'],
    );
    assert.deepEqual(
      rules(
        scanBytes(
          'm.pt',
          zipArchive(
            [
              { name: 'archive/data.pkl', data: pkl },
              { name: 'archive/other.pkl', data: pkl },
            ],
            { overlapSecondOnFirst: true },
          ),
        ),
      ),
      ['zip.header-mismatch', 'zip.overlap'],
    );
    assert.deepEqual(
      rules(
        scanBytes(
          'm.pt',
          zipArchive([{ name: 'archive/data.pkl', data: pkl, localName: 'archive/evil.pkl' }]),
        ),
      ),
      ['zip.header-mismatch'],
    );
    assert.deepEqual(
      rules(scanBytes('m.pt', zipArchive([{ name: '../../etc/data.pkl', data: pkl }]))),
      ['zip.unsafe-name'],
    );
    assert.deepEqual(
      rules(
        scanBytes(
          'm.pt',
          zipArchive([{ name: 'archive/data.pkl', data: pkl }], { prefix: Buffer.from('hello') }),
        ),
      ),
      ['zip.prepended-data'],
    );
  });

  test('a truncated or garbled archive is "could not scan", never a pass', () => {
    const good = torchZip(torchStateDictPickle(['w']));
    const cut = good.subarray(0, good.length - 30);
    const r = scanBytes('m.pt', cut);
    assert.deepEqual(
      r.findings.map((f) => [f.kind, f.rule]),
      [['unscanned', 'zip.malformed']],
    );
    const badCount = Buffer.from(good);
    badCount.writeUInt16LE(60000, badCount.length - 12);
    assert.equal(scanBytes('m.pt', badCount).findings[0]?.rule, 'zip.malformed');
    assert.equal(
      scanBytes('m.pt', good, { limits: { maxZipEntries: 2 } }).findings[0]?.rule,
      'scan.limit',
    );
  });

  test('a pickle that is also a zip (polyglot) is scanned both ways', () => {
    const poly = Buffer.concat([
      protocol4StackGlobal(),
      zipArchive([{ name: 'x/data.pkl', data: protocol0System() }]),
    ]);
    const r = scanBytes('model.bin', poly);
    assert.deepEqual(
      r.findings
        .map((f) => [f.rule, f.kind === 'callable' ? f.callable : '', f.member ?? ''])
        .sort(),
      [
        ['format.polyglot', '', ''],
        ['pickle.dangerous-callable', 'os.system', 'x/data.pkl'],
        ['pickle.dangerous-callable', 'posix.system', ''],
        ['pickle.trailing-data', '', ''],
        ['zip.prepended-data', '', ''],
      ],
    );
  });

  test('gzip-compressed pickles are inflated within the limit', () => {
    const r = scanBytes('model.pkl.gz', gzipSync(protocol0System()));
    assert.equal(r.files[0]?.format, 'compressed-pickle');
    assert.deepEqual(brief(r), [['pickle.dangerous-callable', 'critical', '(gzip stream)']]);
    const bomb = gzipSync(Buffer.alloc(4 * 1024 * 1024));
    assert.deepEqual(brief(scanBytes('m.joblib', bomb, { limits: { maxInflateBytes: 65536 } })), [
      ['zip.bomb', 'high', null],
    ]);
    assert.deepEqual(
      brief(scanBytes('m.joblib', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0, 1, 2]))),
      [['scan.unsupported', 'high', null]],
    );
  });

  test('detection is by content: a pickle named .dat with a protocol header is scanned', () => {
    assert.deepEqual(rules(scanBytes('weights.dat', protocol4StackGlobal())), [
      'pickle.dangerous-callable',
    ]);
    assert.deepEqual(rules(scanBytes('weights.dat', protocol0System())), [
      'pickle.dangerous-callable',
    ]);
    assert.deepEqual(rules(scanBytes('tensors', torchZip(protocol0System()))), [
      'pickle.dangerous-callable',
    ]);
    // A .bin of raw numbers is not a pickle and not a finding above low.
    const raw = scanBytes('model.bin', Buffer.alloc(256, 0xab));
    assert.equal(raw.files[0]?.format, 'unrecognised');
    assert.deepEqual(brief(raw), [['format.unrecognised', 'low', null]]);
    // Text and JSON are not inspected.
    const cfg = scanBytes('config.json', Buffer.from('{"a": 1}'));
    assert.equal(cfg.files[0]?.status, 'not-inspected');
    assert.deepEqual(cfg.findings, []);
  });
});

describe('safetensors headers', () => {
  const tensor = (dtype: string, shape: number[], begin: number, end: number) => ({
    dtype,
    shape,
    data_offsets: [begin, end],
  });

  test('a valid file has no findings', () => {
    const r = scanBytes('model.safetensors', validSafetensors());
    assert.equal(r.files[0]?.format, 'safetensors');
    assert.equal(r.files[0]?.status, 'complete');
    assert.deepEqual(r.findings, []);
  });

  const cases: [string, Buffer, string[]][] = [
    ['shorter than 8 bytes', Buffer.from([1, 2, 3]), ['safetensors.header']],
    [
      'header length over 100 MB',
      safetensors({ header: {}, dataLength: 0, declaredLength: 200_000_000n }),
      ['safetensors.header'],
    ],
    [
      'header length past the end',
      safetensors({ header: {}, dataLength: 0, declaredLength: 4096n }),
      ['safetensors.header'],
    ],
    [
      'header not JSON',
      safetensors({ header: {}, headerText: '{"a": ', dataLength: 0 }),
      ['safetensors.header'],
    ],
    [
      'header not an object',
      safetensors({ header: {}, headerText: '{}[1]', dataLength: 0 }),
      ['safetensors.header'],
    ],
    [
      'header too deep',
      safetensors({
        header: {},
        headerText: `{"a":${'['.repeat(20)}${']'.repeat(20)}}`,
        dataLength: 0,
      }),
      ['safetensors.header'],
    ],
    [
      'unknown dtype',
      safetensors({ header: { a: tensor('F128', [1], 0, 16) }, dataLength: 16 }),
      ['safetensors.header'],
    ],
    [
      'negative shape',
      safetensors({ header: { a: tensor('F32', [-1], 0, 4) }, dataLength: 4 }),
      ['safetensors.header'],
    ],
    [
      'fractional shape',
      safetensors({ header: { a: tensor('F32', [1.5], 0, 4) }, dataLength: 4 }),
      ['safetensors.header'],
    ],
    [
      'offsets reversed',
      safetensors({ header: { a: tensor('U8', [0], 4, 0) }, dataLength: 4 }),
      ['safetensors.header'],
    ],
    [
      'missing data_offsets',
      safetensors({ header: { a: { dtype: 'F32', shape: [1] } }, dataLength: 4 }),
      ['safetensors.header'],
    ],
    [
      'metadata not a string map',
      safetensors({
        header: { __metadata__: { n: 1 }, a: tensor('U8', [1], 0, 1) },
        dataLength: 1,
      }),
      ['safetensors.header'],
    ],
    [
      'dtype × shape ≠ range',
      safetensors({ header: { a: tensor('F32', [2, 2], 0, 12) }, dataLength: 12 }),
      ['safetensors.size-mismatch'],
    ],
    [
      'range past the data',
      safetensors({ header: { a: tensor('F32', [4], 0, 16) }, dataLength: 8 }),
      ['safetensors.out-of-bounds'],
    ],
    [
      'overlap',
      safetensors({
        header: { a: tensor('F32', [2], 0, 8), b: tensor('F32', [2], 4, 12) },
        dataLength: 12,
      }),
      ['safetensors.overlap'],
    ],
    [
      'gap',
      safetensors({
        header: { a: tensor('F32', [1], 0, 4), b: tensor('F32', [1], 8, 12) },
        dataLength: 12,
      }),
      ['safetensors.gap'],
    ],
    [
      'trailing data',
      safetensors({ header: { a: tensor('F32', [1], 0, 4) }, dataLength: 4, trailing: 100 }),
      ['safetensors.trailing-data'],
    ],
    [
      'duplicate key',
      safetensors({
        header: {},
        headerText:
          '{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}',
        dataLength: 1,
      }),
      ['safetensors.duplicate-key'],
    ],
    [
      'F4 elements that do not fill bytes',
      safetensors({ header: { a: tensor('F4', [3], 0, 2) }, dataLength: 2 }),
      ['safetensors.size-mismatch'],
    ],
  ];
  for (const [name, bytes, expected] of cases) {
    test(`${name} → ${expected.join(', ')}`, () => {
      const r = scanBytes('model.safetensors', bytes);
      assert.deepEqual([...new Set(rules(r))], expected);
    });
  }

  test('F4 packs two elements per byte; huge shapes do not overflow', () => {
    const ok = safetensors({ header: { a: tensor('F4', [4], 0, 2) }, dataLength: 2 });
    assert.deepEqual(scanBytes('m.safetensors', ok).findings, []);
    const huge = safetensors({
      header: { a: tensor('F64', [2 ** 40, 2 ** 40], 0, 8) },
      dataLength: 8,
    });
    assert.deepEqual(rules(scanBytes('m.safetensors', huge)), ['safetensors.size-mismatch']);
  });
});

describe('GGUF and ONNX headers', () => {
  test('a valid GGUF v3 file has no findings', () => {
    const r = scanBytes(
      'model.gguf',
      gguf({
        kv: {
          'general.alignment': { type: 'u32', value: 32 },
          'tokenizer.ggml.tokens': { type: 'strings', value: ['a', 'b'] },
        },
      }),
    );
    assert.equal(r.files[0]?.format, 'gguf');
    assert.deepEqual(r.findings, []);
  });

  const bad: [string, Buffer, string][] = [
    ['unknown version', gguf({ version: 9 }), 'gguf.version'],
    ['tensor count larger than the file', gguf({ tensorCount: 2n ** 40n }), 'gguf.header'],
    ['kv count larger than the file', gguf({ kvCount: 2n ** 62n }), 'gguf.header'],
    [
      'key length past the end',
      (() => {
        const b = gguf();
        b.writeBigUInt64LE(2n ** 60n, 24);
        return b;
      })(),
      'gguf.header',
    ],
    [
      'tensor data past the end',
      gguf({ tensors: [{ name: 't', dims: [1024, 1024], type: 0, offset: 0 }] }),
      'gguf.header',
    ],
    [
      'misaligned tensor offset',
      gguf({ tensors: [{ name: 't', dims: [2], type: 0, offset: 3 }] }),
      'gguf.header',
    ],
    [
      'too many dimensions',
      gguf({ tensors: [{ name: 't', dims: [1, 1, 1, 1, 1], type: 0, offset: 0 }] }),
      'gguf.header',
    ],
    [
      'unknown tensor type',
      gguf({ tensors: [{ name: 't', dims: [2], type: 99, offset: 0 }] }),
      'gguf.tensor-type',
    ],
    ['truncated', gguf().subarray(0, 30), 'gguf.header'],
  ];
  for (const [name, bytes, rule] of bad) {
    test(`GGUF ${name} → ${rule}`, () => {
      assert.deepEqual(rules(scanBytes('model.gguf', bytes)), [rule]);
    });
  }

  test('a valid ONNX model has no findings', () => {
    assert.deepEqual(scanBytes('model.onnx', onnxModel()).findings, []);
    assert.deepEqual(
      scanBytes('model.onnx', onnxModel({ location: 'weights/model.data' })).findings,
      [],
    );
  });

  const badOnnx: [string, Buffer, string][] = [
    [
      'external data outside the model',
      onnxModel({ location: '../../etc/passwd' }),
      'onnx.external-data-path',
    ],
    [
      'external data at an absolute path',
      onnxModel({ location: '/etc/shadow' }),
      'onnx.external-data-path',
    ],
    ['no graph', onnxModel({ graph: false }), 'onnx.structure'],
    ['impossible ir_version', onnxModel({ irVersion: 100000 }), 'onnx.structure'],
    [
      'length past the end',
      Buffer.concat([onnxModel(), Buffer.from([0x3a, 0xff, 0xff, 0x03])]),
      'onnx.structure',
    ],
    ['group wire type', Buffer.concat([onnxModel(), Buffer.from([0x0b])]), 'onnx.structure'],
    ['not protobuf at all', Buffer.from('hello world, not a model'), 'onnx.structure'],
  ];
  for (const [name, bytes, rule] of badOnnx) {
    test(`ONNX ${name} → ${rule}`, () => {
      assert.deepEqual(rules(scanBytes('model.onnx', bytes)), [rule]);
    });
  }
});

test('random bytes under every format name: a report, never an exception', () => {
  const names = [
    'x.pkl',
    'x.pt',
    'x.bin',
    'x.safetensors',
    'x.gguf',
    'x.onnx',
    'x.joblib',
    'x.txt',
  ];
  const prefixes = [
    Buffer.alloc(0),
    Buffer.from([0x80, 0x04]),
    Buffer.from('PK\x03\x04', 'latin1'),
    Buffer.from('GGUF\x03\x00\x00\x00', 'latin1'),
    Buffer.from([0x1f, 0x8b]),
  ];
  fc.assert(
    fc.property(
      fc.constantFrom(...names),
      fc.constantFrom(...prefixes),
      fc.uint8Array({ maxLength: 512 }),
      (name, prefix, body) => {
        const r = scanBytes(name, Buffer.concat([prefix, body]), {
          limits: { maxPickleOps: 5000 },
        });
        assert.equal(r.files.length, 1);
      },
    ),
    { numRuns: 300 },
  );
  // Mutations of well-formed files of each kind.
  const seeds: [string, Buffer][] = [
    ['m.pt', torchZip(torchStateDictPickle(['w']))],
    ['m.safetensors', validSafetensors()],
    ['m.gguf', gguf()],
    ['m.onnx', onnxModel()],
    [
      'm.pkl',
      new Pickle()
        .proto(2)
        .global('collections', 'OrderedDict')
        .emptyTuple()
        .reduce()
        .stop()
        .bytes(),
    ],
  ];
  fc.assert(
    fc.property(
      fc.constantFrom(...seeds),
      fc.nat(),
      fc.integer({ min: 0, max: 255 }),
      fc.nat(),
      ([name, seed], at, v, cut) => {
        const b = Buffer.from(seed);
        b[at % b.length] = v;
        scanBytes(name, b.subarray(0, (cut % b.length) + 1));
      },
    ),
    { numRuns: 300 },
  );
});
