// GraphiQL against this server's /graphql, from the vendored build: nothing is fetched
// from any other origin.
"use strict";

const DEFAULT_QUERY = `# idr-graph: one GraphQL request for IDR's nested data.
# Press the run button (or Ctrl-Enter). The Docs pane lists every type and field.
#
# A screen, its study key/values, and the grid of its first plate:
{
  screen(id: 102) {
    name
    annotations { namespace keyValues { key value } }
    plates(first: 1) {
      nodes {
        id
        name
        rowLabels
        columnLabels
        wells(field: 0) {
          label
          images { id name thumbnailUrl }
        }
      }
    }
  }
}
`;

const fetcher = GraphiQL.createFetcher({ url: new URL("/graphql", location.href).href });
const root = ReactDOM.createRoot(document.getElementById("graphiql"));
root.render(
  React.createElement(GraphiQL, {
    fetcher,
    defaultQuery: DEFAULT_QUERY,
    defaultEditorToolsVisibility: false,
    // Queries only: there is nothing to mutate, and nothing to subscribe to.
    shouldPersistHeaders: false,
  }),
);
