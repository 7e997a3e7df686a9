/** The made-up app registration every gateway of the benchmark uses (each with its own client id). */
export const TENANT_ID = 'b3f0c7a2-1d4e-4f6a-9b8c-7e5d3a1f2c4b';
export const CLIENT_SECRET = 'bench-secret-not-a-real-credential';
export const RESOURCE = 'api://bench-backend';
