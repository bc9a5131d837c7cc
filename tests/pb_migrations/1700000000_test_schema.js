/// <reference path="../pb_data/types.d.ts" />
// Schema for pb-ssr's own test suite (the chat example has its own in example_projects/).
migrate((app) => {
  const users = app.findCollectionByNameOrId("users");
  const autodates = [
    { name: "created", type: "autodate", onCreate: true, onUpdate: false },
    { name: "updated", type: "autodate", onCreate: true, onUpdate: true },
  ];
  const signedIn = "@request.auth.id != ''";

  app.save(new Collection({
    type: "base",
    name: "messages",
    fields: [
      { name: "text", type: "text", required: true, min: 1, max: 1000 },
      { name: "user", type: "relation", collectionId: users.id, maxSelect: 1, cascadeDelete: true, required: true },
      ...autodates,
    ],
    listRule: signedIn,
    viewRule: signedIn,
    createRule: signedIn + " && user = @request.auth.id",
    updateRule: "user = @request.auth.id",
    deleteRule: "user = @request.auth.id",
  }));

  app.save(new Collection({
    type: "base",
    name: "notes",
    fields: [
      { name: "title", type: "text" },
      { name: "secret", type: "text" },
      { name: "rank", type: "number" },
      { name: "flag", type: "bool" },
      { name: "when", type: "date" },
      { name: "owner", type: "relation", collectionId: users.id, maxSelect: 1, cascadeDelete: true },
      ...autodates,
    ],
    listRule: "",
    viewRule: "",
    createRule: "",
    updateRule: "",
    deleteRule: "",
  }));

  app.save(new Collection({
    type: "base",
    name: "private_notes",
    fields: [
      { name: "title", type: "text" },
      { name: "owner", type: "relation", collectionId: users.id, maxSelect: 1, cascadeDelete: true, required: true },
      ...autodates,
    ],
    listRule: "owner = @request.auth.id",
    viewRule: "owner = @request.auth.id",
    createRule: signedIn + " && owner = @request.auth.id",
    updateRule: "owner = @request.auth.id",
    deleteRule: "owner = @request.auth.id",
  }));

  app.save(new Collection({
    type: "base",
    name: "docs",
    fields: [
      { name: "title", type: "text" },
      { name: "attachment", type: "file", maxSelect: 1, maxSize: 1048576 },
      { name: "gallery", type: "file", maxSelect: 5, maxSize: 1048576 },
      { name: "secret_file", type: "file", maxSelect: 1, maxSize: 1048576, protected: true },
      { name: "owner", type: "relation", collectionId: users.id, maxSelect: 1, cascadeDelete: true },
      ...autodates,
    ],
    listRule: signedIn,
    viewRule: signedIn,
    createRule: signedIn,
    updateRule: signedIn,
    deleteRule: signedIn,
  }));
}, (app) => {
  for (const name of ["docs", "private_notes", "notes", "messages"]) {
    app.delete(app.findCollectionByNameOrId(name));
  }
});
