/** The issuer recorded for identities that authenticate with a Cairn API token. */
export const API_TOKEN_ISSUER = 'cairn:api-token';
