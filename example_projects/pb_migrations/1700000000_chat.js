/// <reference path="../pb_data/types.d.ts" />
// The chat example's schema, shared by the Django and Flask examples.
migrate((app) => {
  const users = app.findCollectionByNameOrId("users");
  // Signed-in users may see each other (names for message authors); emails stay
  // hidden by emailVisibility=false.
  users.listRule = "@request.auth.id != ''";
  users.viewRule = "@request.auth.id != ''";
  app.save(users);

  app.save(new Collection({
    type: "base",
    name: "messages",
    fields: [
      { name: "text", type: "text", required: true, min: 1, max: 1000 },
      {
        name: "user", type: "relation", collectionId: users.id,
        maxSelect: 1, required: true, cascadeDelete: true,
      },
      { name: "created", type: "autodate", onCreate: true, onUpdate: false },
      { name: "updated", type: "autodate", onCreate: true, onUpdate: true },
    ],
    indexes: ["CREATE INDEX idx_messages_created ON messages (created)"],
    listRule: "@request.auth.id != ''",
    viewRule: "@request.auth.id != ''",
    createRule: "@request.auth.id != '' && user = @request.auth.id",
    updateRule: null,
    deleteRule: "user = @request.auth.id",
  }));
}, (app) => {
  app.delete(app.findCollectionByNameOrId("messages"));
  const users = app.findCollectionByNameOrId("users");
  users.listRule = "id = @request.auth.id";
  users.viewRule = "id = @request.auth.id";
  app.save(users);
});
