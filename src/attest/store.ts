import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ValidationError } from '../errors/index.js';
import { DEFAULT_ATTESTATIONS_NAME } from '../manifest/index.js';
import { readSmallFile, writeFileAtomic } from '../model/index.js';

/** Limits on `model.att.jsonl`, checked while reading (STYLE.md §3). */
export const MAX_ATTESTATIONS_FILE_BYTES = 64 * 1024 * 1024;
export const MAX_ATTESTATION_LINES = 1000;
export const MAX_ATTESTATION_LINE_BYTES = 8 * 1024 * 1024;

/** `<model>/model.att.jsonl` for a directory, `<file>.att.jsonl` for a single-file model. */
export function defaultAttestationsPath(modelPath: string): string {
  return existsSync(modelPath) && statSync(modelPath).isFile()
    ? `${modelPath}.att.jsonl`
    : join(modelPath, DEFAULT_ATTESTATIONS_NAME);
}

export interface AttestationLine {
  /** 1-based line number in the file. */
  readonly line: number;
  readonly bundle: Buffer;
}

/** Every non-empty line of the attestations file; none when the file does not exist. */
export function readAttestationLines(path: string): AttestationLine[] {
  if (!existsSync(path)) return [];
  const text = readSmallFile(path, MAX_ATTESTATIONS_FILE_BYTES, 'Attestations file');
  const lines: AttestationLine[] = [];
  let start = 0;
  let number = 0;
  while (start < text.length) {
    let end = text.indexOf(0x0a, start);
    if (end === -1) end = text.length;
    number += 1;
    const bundle = text.subarray(start, end);
    start = end + 1;
    if (bundle.length > MAX_ATTESTATION_LINE_BYTES) {
      throw tooBig(
        path,
        `line ${number} is ${bundle.length} bytes, over ${MAX_ATTESTATION_LINE_BYTES}`,
      );
    }
    if (bundle.toString('utf8').trim() === '') continue;
    if (lines.length === MAX_ATTESTATION_LINES) {
      throw tooBig(path, `more than ${MAX_ATTESTATION_LINES} attestations`);
    }
    lines.push({ line: number, bundle });
  }
  return lines;
}

function tooBig(path: string, why: string): ValidationError {
  return new ValidationError('ATTESTATIONS_FILE_INVALID', `${path}: ${why}`, {
    details: { path },
  });
}

/**
 * Appends one bundle as one line: read what is there (within the limits), add the line, and
 * replace the file atomically, so readers see the old or the new file, never half a line.
 */
export function appendAttestation(path: string, bundle: Uint8Array): number {
  const text = Buffer.from(bundle).toString('utf8');
  if (text.includes('\n') || text.includes('\r')) {
    throw new ValidationError(
      'ATTESTATIONS_FILE_INVALID',
      'An attestation bundle must be one line',
      {
        details: { path },
      },
    );
  }
  const existing = readAttestationLines(path);
  if (existing.length >= MAX_ATTESTATION_LINES) {
    throw tooBig(path, `already holds ${MAX_ATTESTATION_LINES} attestations`);
  }
  const body = [...existing.map((l) => l.bundle.toString('utf8')), text].join('\n');
  writeFileAtomic(path, Buffer.from(`${body}\n`, 'utf8'), { overwrite: true });
  return existing.length + 1;
}
