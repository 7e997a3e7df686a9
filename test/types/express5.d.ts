// Express 5 is installed under the npm alias `express5`; its API is typed like Express 4 for our tests.
declare module 'express5' {
  import express from 'express';
  export default express;
}
