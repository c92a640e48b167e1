// GraphiQL against this server's /graphql, from the vendored build: nothing is fetched
// from any other origin.
"use strict";

const DEFAULT_QUERY = `# idr-graph: one GraphQL request for IDR's nested data.
# Press the run button (or Ctrl-Enter). The Docs pane lists every type and field.
#
# A screen with its study key/values and plates, and a plate's grid with each well's
# images (these run on the bundled recordings too, with \`idr serve --offline\`):
{
  screen(id: 102) {
    name
    annotations { namespace keyValues { key value } }
    plates(first: 3) { totalCount nodes { id name } }
  }
  plate(id: 4554) {
    name
    rowLabels
    columnLabels
    wells(field: 0) {
      label
      images { id name thumbnailUrl }
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
