import { InfraError } from '../errors/index.js';
import type { HashModelOptions, Manifest } from './types.js';

/** Walks and hashes a model directory or file. (Placeholder: being implemented.) */
export function hashModel(modelPath: string, options: HashModelOptions = {}): Promise<Manifest> {
  void modelPath;
  void options;
  return Promise.reject(new InfraError('INTERNAL', 'hashModel is not implemented yet'));
}
