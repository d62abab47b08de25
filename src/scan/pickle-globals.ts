import type { Severity } from './types.js';

/**
 * What the scanner thinks of a callable a pickle imports. Loading a pickle runs every callable it
 * imports and calls, so the question is only "could this callable do harm with arguments an
 * attacker chooses". The deny list names modules and callables that can; the safe list names the
 * exact callables PyTorch, NumPy and the standard library use to rebuild plain data; everything
 * else is unknown.
 */
export type GlobalVerdict =
  | { readonly kind: 'safe' }
  | { readonly kind: 'dangerous'; readonly severity: Severity; readonly why: string }
  | { readonly kind: 'unknown' };

interface Danger {
  readonly severity: Severity;
  readonly why: string;
}

const RUN = 'runs commands or code';
const IMPORT = 'imports arbitrary modules or code';
const LOADS = 'loads more serialised objects (a second, unscanned payload)';
const FILES = 'reads, writes or deletes files';
const NET = 'reaches the network';
const GADGET = 'builds calls out of data (a code-execution gadget)';
const PROC = 'controls the Python process';

const critical = (why: string): Danger => ({ severity: 'critical', why });
const high = (why: string): Danger => ({ severity: 'high', why });

/** Whole modules (and their submodules): any callable from them is dangerous. */
const DANGEROUS_MODULES: ReadonlyMap<string, Danger> = new Map([
  ['os', critical(RUN)],
  ['posix', critical(RUN)],
  ['nt', critical(RUN)],
  ['subprocess', critical(RUN)],
  ['_posixsubprocess', critical(RUN)],
  ['commands', critical(RUN)],
  ['popen2', critical(RUN)],
  ['pty', critical(RUN)],
  ['runpy', critical(RUN)],
  ['code', critical(RUN)],
  ['codeop', critical(RUN)],
  ['timeit', critical(RUN)],
  ['cProfile', critical(RUN)],
  ['profile', critical(RUN)],
  ['trace', critical(RUN)],
  ['pdb', critical(RUN)],
  ['bdb', critical(RUN)],
  ['doctest', critical(RUN)],
  ['pydoc', critical(RUN)],
  ['asyncio', critical(RUN)],
  ['multiprocessing', critical(RUN)],
  ['ctypes', critical(RUN)],
  ['_ctypes', critical(RUN)],
  ['cffi', critical(RUN)],
  ['marshal', critical(RUN)],
  ['sys', critical(PROC)],
  ['importlib', critical(IMPORT)],
  ['imp', critical(IMPORT)],
  ['pkgutil', critical(IMPORT)],
  ['zipimport', critical(IMPORT)],
  ['pickle', critical(LOADS)],
  ['_pickle', critical(LOADS)],
  ['cPickle', critical(LOADS)],
  ['pickletools', critical(LOADS)],
  ['dill', critical(LOADS)],
  ['cloudpickle', critical(LOADS)],
  ['shelve', critical(LOADS)],
  ['joblib', high(LOADS)],
  ['shutil', critical(FILES)],
  ['tempfile', high(FILES)],
  ['webbrowser', high(RUN)],
  ['socket', high(NET)],
  ['_socket', high(NET)],
  ['ssl', high(NET)],
  ['socketserver', high(NET)],
  ['SocketServer', high(NET)],
  ['http', high(NET)],
  ['httplib', high(NET)],
  ['urllib', high(NET)],
  ['urllib2', high(NET)],
  ['urllib3', high(NET)],
  ['requests', high(NET)],
  ['httpx', high(NET)],
  ['aiohttp', high(NET)],
  ['ftplib', high(NET)],
  ['smtplib', high(NET)],
  ['telnetlib', high(NET)],
  ['poplib', high(NET)],
  ['imaplib', high(NET)],
  ['nntplib', high(NET)],
  ['xmlrpc', high(NET)],
  ['xmlrpclib', high(NET)],
  ['signal', high(PROC)],
  ['threading', high(PROC)],
  ['_thread', high(PROC)],
  ['thread', high(PROC)],
  ['gc', high(PROC)],
  ['ensurepip', high(IMPORT)],
  ['venv', high(IMPORT)],
  ['distutils', high(IMPORT)],
  ['setuptools', high(IMPORT)],
  ['pip', high(IMPORT)],
  ['torch.hub', critical(IMPORT)],
  ['torch.utils.cpp_extension', critical(RUN)],
  ['torch._inductor', high(RUN)],
]);

/** Single callables from modules that are otherwise not dangerous. */
const DANGEROUS_CALLABLES: ReadonlyMap<string, Danger> = new Map([
  ['types.CodeType', critical(RUN)],
  ['types.FunctionType', critical(RUN)],
  ['types.LambdaType', critical(RUN)],
  ['types.MethodType', critical(GADGET)],
  ['types.ModuleType', high(IMPORT)],
  ['operator.attrgetter', critical(GADGET)],
  ['operator.methodcaller', critical(GADGET)],
  ['operator.itemgetter', high(GADGET)],
  ['_operator.attrgetter', critical(GADGET)],
  ['_operator.methodcaller', critical(GADGET)],
  ['_operator.itemgetter', high(GADGET)],
  ['functools.partial', high(GADGET)],
  ['functools.reduce', high(GADGET)],
  ['_functools.partial', high(GADGET)],
  ['_functools.reduce', high(GADGET)],
  ['io.open', high(FILES)],
  ['io.open_code', high(FILES)],
  ['io.FileIO', high(FILES)],
  ['_io.open', high(FILES)],
  ['_io.open_code', high(FILES)],
  ['_io.FileIO', high(FILES)],
  ['codecs.open', high(FILES)],
  ['platform.popen', critical(RUN)],
  ['numpy.testing._private.utils.runstring', critical(RUN)],
  ['numpy.load', high(LOADS)],
  ['torch.load', high(LOADS)],
  ['torch.serialization.load', high(LOADS)],
  ['torch.jit.load', high(LOADS)],
  ['torch.package.PackageImporter', high(IMPORT)],
]);

/** Builtins that execute, import, reach attributes by name or touch files. */
const DANGEROUS_BUILTINS: ReadonlyMap<string, Danger> = new Map([
  ['eval', critical(RUN)],
  ['exec', critical(RUN)],
  ['execfile', critical(RUN)],
  ['compile', critical(RUN)],
  ['__import__', critical(IMPORT)],
  ['getattr', critical(GADGET)],
  ['setattr', critical(GADGET)],
  ['delattr', critical(GADGET)],
  ['globals', critical(GADGET)],
  ['locals', critical(GADGET)],
  ['vars', critical(GADGET)],
  ['apply', critical(GADGET)],
  ['breakpoint', critical(RUN)],
  ['input', critical(RUN)],
  ['raw_input', critical(RUN)],
  ['reload', critical(IMPORT)],
  ['open', critical(FILES)],
  ['file', critical(FILES)],
  ['exit', high(PROC)],
  ['quit', high(PROC)],
  ['help', high(RUN)],
]);

/** Builtins that only build plain data. Every other builtin is high: they chain into gadgets. */
const SAFE_BUILTINS = new Set([
  'set',
  'frozenset',
  'bytearray',
  'bytes',
  'slice',
  'complex',
  'range',
  'xrange',
  'dict',
  'list',
  'tuple',
  'int',
  'long',
  'float',
  'bool',
  'str',
  'unicode',
  'object',
]);

const TORCH_STORAGES = [
  'Float',
  'Double',
  'Half',
  'BFloat16',
  'Long',
  'Int',
  'Short',
  'Char',
  'Byte',
  'Bool',
  'ComplexFloat',
  'ComplexDouble',
  'QInt8',
  'QUInt8',
  'QInt32',
  'QUInt4x2',
  'QUInt2x4',
].map((t) => `torch.${t}Storage`);

const TORCH_DTYPES = [
  'float32',
  'float',
  'float64',
  'double',
  'float16',
  'half',
  'bfloat16',
  'complex32',
  'complex64',
  'complex128',
  'cfloat',
  'cdouble',
  'chalf',
  'uint8',
  'uint16',
  'uint32',
  'uint64',
  'int8',
  'int16',
  'short',
  'int32',
  'int',
  'int64',
  'long',
  'bool',
  'qint8',
  'quint8',
  'qint32',
  'quint4x2',
  'quint2x4',
  'float8_e4m3fn',
  'float8_e5m2',
  'float8_e4m3fnuz',
  'float8_e5m2fnuz',
].map((t) => `torch.${t}`);

/** Exact `module.name` callables that rebuild tensors, arrays and plain containers. */
const SAFE_GLOBALS: ReadonlySet<string> = new Set([
  ...TORCH_STORAGES,
  ...TORCH_DTYPES,
  'torch.UntypedStorage',
  'torch.TypedStorage',
  'torch.storage.UntypedStorage',
  'torch.storage.TypedStorage',
  'torch.Size',
  'torch.device',
  'torch.Tensor',
  'torch.strided',
  'torch.sparse_coo',
  'torch.sparse_csr',
  'torch.contiguous_format',
  'torch.channels_last',
  'torch.channels_last_3d',
  'torch.preserve_format',
  'torch.per_tensor_affine',
  'torch.per_channel_affine',
  'torch.nn.Parameter',
  'torch.nn.parameter.Parameter',
  'torch.torch_version.TorchVersion',
  'torch.serialization._get_layout',
  'torch._tensor._rebuild_from_type',
  'torch._tensor._rebuild_from_type_v2',
  'torch._utils._rebuild_tensor',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_tensor_v3',
  'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
  'torch._utils._rebuild_qtensor',
  'torch._utils._rebuild_sparse_tensor',
  'torch._utils._rebuild_nested_tensor',
  'torch._utils._rebuild_device_tensor_from_numpy',
  'torch._utils._rebuild_meta_tensor_no_storage',
  'torch._utils._rebuild_wrapper_subclass',
  'numpy.ndarray',
  'numpy.dtype',
  'numpy.core.multiarray._reconstruct',
  'numpy.core.multiarray.scalar',
  'numpy.core.numeric._frombuffer',
  'numpy._core.multiarray._reconstruct',
  'numpy._core.multiarray.scalar',
  'numpy._core.numeric._frombuffer',
  'collections.OrderedDict',
  'collections.defaultdict',
  'collections.deque',
  'collections.Counter',
  'copyreg._reconstructor',
  'copyreg.__newobj__',
  'copyreg.__newobj_ex__',
  '_codecs.encode',
  'datetime.datetime',
  'datetime.date',
  'datetime.time',
  'datetime.timedelta',
  'datetime.timezone',
  'decimal.Decimal',
  'fractions.Fraction',
  'uuid.UUID',
  'argparse.Namespace',
  'pathlib.Path',
  'pathlib.PosixPath',
  'pathlib.WindowsPath',
  'pathlib.PurePosixPath',
  'pathlib.PureWindowsPath',
]);

/**
 * Python 2 module names the unpickler maps to Python 3 ones for protocols < 3 (`_compat_pickle`):
 * only those that matter to a verdict.
 */
const PY2_MODULES: ReadonlyMap<string, string> = new Map([
  ['__builtin__', 'builtins'],
  ['copy_reg', 'copyreg'],
  ['cPickle', 'pickle'],
  ['exceptions', 'builtins'],
  ['thread', '_thread'],
  ['SocketServer', 'socketserver'],
  ['httplib', 'http.client'],
  ['urllib2', 'urllib.request'],
  ['xmlrpclib', 'xmlrpc.client'],
  ['commands', 'subprocess'],
  ['StringIO', 'io'],
  ['cStringIO', 'io'],
]);

/** Attribute names that walk from any object to globals, builtins or code. */
const TRAVERSAL_ATTRIBUTES = new Set([
  '__globals__',
  '__builtins__',
  '__subclasses__',
  '__import__',
  '__code__',
  '__class__',
  '__base__',
  '__bases__',
  '__mro__',
  '__dict__',
  '__getattribute__',
  '__getattr__',
  '__reduce__',
  '__reduce_ex__',
  '__init__',
  '__loader__',
  '__spec__',
  '__self__',
  '__func__',
  '__closure__',
]);

/** Longer attribute walks are judged dangerous outright rather than searched. */
const MAX_WALK = 16;

function moduleDanger(module: string): Danger | undefined {
  for (let m = module; m !== ''; m = m.slice(0, Math.max(0, m.lastIndexOf('.')))) {
    const d = DANGEROUS_MODULES.get(m);
    if (d !== undefined) return d;
    if (!m.includes('.')) break;
  }
  return undefined;
}

function worse(a: Danger | undefined, b: Danger | undefined): Danger | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  const order: Severity[] = ['critical', 'high', 'medium', 'low', 'info'];
  return order.indexOf(b.severity) < order.indexOf(a.severity) ? b : a;
}

function dangerOf(module: string, name: string): Danger | undefined {
  const first = name.split('.')[0] ?? name;
  let d = moduleDanger(module);
  d = worse(d, DANGEROUS_CALLABLES.get(`${module}.${first}`));
  d = worse(d, DANGEROUS_CALLABLES.get(`${module}.${name}`));
  if (module === 'builtins') {
    d = worse(d, DANGEROUS_BUILTINS.get(first));
    if (d === undefined && !SAFE_BUILTINS.has(name)) {
      d = high('a builtin beyond plain data types, usable in gadget chains');
    }
  }
  return d;
}

/**
 * Judges `module.name` as the unpickler would resolve it. A dotted name is an attribute walk
 * (`torch` + `serialization.os.system` reaches `os.system`), so every split is judged and the
 * worst wins; the safe list matches exact names only and never overrides the deny list.
 */
export function judgeGlobal(
  module: string,
  name: string,
  extraSafe: ReadonlySet<string> = new Set(),
): GlobalVerdict {
  const modules = new Set([module, PY2_MODULES.get(module) ?? module]);
  let danger: Danger | undefined;
  for (const m of modules) {
    const parts = name.split('.');
    for (let k = 0; k < parts.length; k++) {
      const mod = k === 0 ? m : `${m}.${parts.slice(0, k).join('.')}`;
      danger = worse(danger, dangerOf(mod, parts.slice(k).join('.')));
    }
    if (parts.length > MAX_WALK) {
      danger = worse(danger, high(`walks ${parts.length} attributes deep`));
    } else if (parts.length > 1) {
      // The walk can pass through a module that an imported module holds as an attribute
      // (`torch.serialization.os` is `os`): judge every run of attribute names as a module path.
      for (let i = 0; i < parts.length - 1; i++) {
        for (let j = i + 1; j < parts.length; j++) {
          danger = worse(danger, dangerOf(parts.slice(i, j).join('.'), parts.slice(j).join('.')));
        }
      }
    }
    if (parts.length > 1 || TRAVERSAL_ATTRIBUTES.has(name)) {
      const dunder = parts.find((p) => TRAVERSAL_ATTRIBUTES.has(p));
      if (dunder !== undefined) {
        danger = worse(danger, high(`walks attribute ${dunder}, which reaches globals or code`));
      }
    }
  }
  if (danger !== undefined) return { kind: 'dangerous', ...danger };
  for (const m of modules) {
    const full = `${m}.${name}`;
    if (SAFE_GLOBALS.has(full) || extraSafe.has(full)) return { kind: 'safe' };
    if (m === 'builtins' && SAFE_BUILTINS.has(name)) return { kind: 'safe' };
    if (/^numpy\.dtypes$/.test(m) && /^[A-Za-z0-9]+DType$/.test(name)) return { kind: 'safe' };
  }
  return { kind: 'unknown' };
}
