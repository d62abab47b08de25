import type { Command } from 'commander';
import type {
  AttestListFlags,
  LicenseFlags,
  ProvenanceFlags,
  TrainingFlags,
  TransformFlags,
} from './attest.js';
import { collect } from './inputs.js';
import { addVerifierOptions } from './options.js';
import type { Io } from './output.js';

function signerOptions(cmd: Command): Command {
  return cmd
    .option(
      '--private-key <pem>',
      'PKCS#8 or SEC1 PEM private key (passphrase from CAIRN_KEY_PASSPHRASE or --passphrase-file)',
    )
    .option('--pkcs11-uri <uri>', 'sign with a key in a PKCS#11 token (RFC 7512 URI)')
    .option('--passphrase-file <file>', 'file holding the private key passphrase')
    .option('--allow-unencrypted-key', 'do not warn about a private key that is not encrypted')
    .option('--json', 'machine-readable output on stdout');
}

/** Adds `cairn attest provenance|transform|list` to the program. */
export function registerAttestCommands(
  program: Command,
  io: Io,
  setExit: (code: number) => void,
): void {
  const version = program.version() ?? 'unknown';
  const attest = program
    .command('attest')
    .description('write and read signed attestations (model.att.jsonl beside the model)');

  signerOptions(
    attest
      .command('provenance')
      .description(
        'sign SLSA Provenance v1 for the model: git source, CI builder and invocation, lock files, runtime, times',
      )
      .argument('<model>', 'model directory or file')
      .option('--builder-id <uri>', 'builder id when no CI system is detected (or to override it)')
      .option('--python-version <version>', 'the Python version the model was built with')
      .option('--accelerator <name>', 'the accelerator it was built on (e.g. nvidia-h100)')
      .option(
        '--from-json <file>',
        'JSON object adding to or overriding parts of the predicate (buildType, externalParameters, …)',
      ),
  ).action(async (model: string, opts: ProvenanceFlags) =>
    setExit(await (await import('./attest.js')).attestProvenanceCommand(io, model, opts, version)),
  );

  signerOptions(
    attest
      .command('transform')
      .description('sign that MODEL was produced from a parent digest by a tool with parameters')
      .argument('<model>', 'model directory or file (the product)')
      .requiredOption('--from <digest>', 'the parent artifact digest (sha256:<hex>)')
      .requiredOption('--tool <name>', 'the tool that transformed it (e.g. llama.cpp/quantize)')
      .option('--tool-version <version>', 'the tool version')
      .option('--params <json>', 'the tool parameters as a JSON object', '{}'),
  ).action(async (model: string, opts: TransformFlags) =>
    setExit(await (await import('./attest.js')).attestTransformCommand(io, model, opts)),
  );

  signerOptions(
    attest
      .command('training')
      .description(
        'sign the training lineage: data snapshots, preprocessing, hyperparameters, evaluations, runs',
      )
      .argument('<model>', 'model directory or file')
      .option(
        '--from-json <file>',
        'JSON object with any of datasets, baseModels, preprocessing, hyperparameters, evaluations, experimentRuns, startedOn, finishedOn',
      )
      .option(
        '--dataset <uri@digest>',
        'a data snapshot, e.g. s3://b/train@sha256:<hex> (repeatable)',
        collect,
      )
      .option('--base-model <digest>', 'a model this one was trained from (repeatable)', collect)
      .option('--preprocessing <step>', 'a preprocessing step, in order (repeatable)', collect)
      .option(
        '--hyperparameter <name=value>',
        'a hyperparameter; JSON values are parsed (repeatable)',
        collect,
      )
      .option(
        '--metric <spec>',
        'an evaluation: metric=NAME,value=N,dataset=URI[,dataset-digest=ALG:HEX][,min=N|,max=N] (repeatable)',
        collect,
      )
      .option('--experiment-run <uri>', 'a link to the experiment run (repeatable)', collect),
  ).action(async (model: string, opts: TrainingFlags) =>
    setExit(await (await import('./attest.js')).attestTrainingCommand(io, model, opts)),
  );

  signerOptions(
    attest
      .command('license')
      .description("sign the model's declared licence (SPDX) and its model card's digest")
      .argument('<model>', 'model directory or file')
      .requiredOption('--license <spdx>', 'SPDX license expression, e.g. Apache-2.0')
      .option('--model-card <file>', 'the model card file (its sha256 is recorded)'),
  ).action(async (model: string, opts: LicenseFlags) =>
    setExit(await (await import('./attest.js')).attestLicenseCommand(io, model, opts)),
  );

  addVerifierOptions(
    attest
      .command('list')
      .description('verify and list every attestation stored beside the model')
      .argument('<model>', 'model directory or file'),
  )
    .option('--json', 'machine-readable output on stdout')
    .action(async (model: string, opts: AttestListFlags) =>
      setExit(await (await import('./attest.js')).attestListCommand(io, model, opts)),
    );
}
