import { z } from 'zod';
import type { RouteSpec } from './routes.js';

const ERROR_SCHEMA = {
  type: 'object',
  required: ['ok', 'error'],
  properties: {
    ok: { const: false },
    error: {
      type: 'object',
      required: ['code', 'kind', 'message', 'hint'],
      properties: {
        code: { type: 'string' },
        kind: { enum: ['usage', 'validation', 'verification', 'infra', 'internal'] },
        message: { type: 'string' },
        hint: { type: 'string' },
        details: { type: 'object' },
      },
    },
  },
};

/**
 * The OpenAPI 3.1 document, assembled from the route table: the same zod schemas that validate
 * request bodies become the request-body JSON Schemas, so the document cannot drift from them.
 */
export function openApiDocument(
  routes: readonly RouteSpec[],
  version: string,
): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = r.url.replace(/:([A-Za-z]+)/g, '{$1}');
    const names = [...r.url.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1]!);
    const parameters = [
      ...names.map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
      ...Object.entries(r.query ?? {}).map(([name, description]) => ({
        name,
        in: 'query',
        description,
        schema: { type: 'string' },
      })),
    ];
    const responses: Record<string, unknown> = {};
    for (const [code, description] of Object.entries(r.responses)) {
      responses[code] = { description };
    }
    responses['default'] = {
      description: 'Error: {ok:false, error:{code, kind, message, hint, details}} (docs/errors.md)',
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    };
    const op: Record<string, unknown> = {
      summary: r.summary,
      ...(parameters.length === 0 ? {} : { parameters }),
      ...(r.public === true ? { security: [] } : {}),
      responses,
    };
    if (r.body !== undefined) {
      const schema: Record<string, unknown> = { ...z.toJSONSchema(r.body, { io: 'input' }) };
      delete schema['$schema'];
      op['requestBody'] = { required: true, content: { 'application/json': { schema } } };
    }
    if (r.rawBody === true) {
      op['requestBody'] = {
        required: true,
        content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
      };
    }
    paths[path] = { ...paths[path], [r.method.toLowerCase()]: op };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Cairn registry',
      version,
      description:
        'Content-addressed model registry: promotion through policy, audited. See docs/registry.md.',
    },
    components: {
      schemas: { Error: ERROR_SCHEMA },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    },
    security: [{ bearer: [] }],
    paths,
  };
}
