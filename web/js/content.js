// The content and community routes under the names the chat has always imported them by. They are
// built in the route table (routes.js), like every API path the UI calls; import from there.

export { communities, dms, messages } from './routes.js';
