/// <reference path="../pb_data/types.d.ts" />
// The tutorial's schema: a "messages" collection that signed-in users can read and
// write to, and users who can see each other's names.
migrate((app) => {
  const users = app.findCollectionByNameOrId("users");
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
    ],
    listRule: "@request.auth.id != ''",
    viewRule: "@request.auth.id != ''",
    createRule: "@request.auth.id != '' && user = @request.auth.id",
  }));
}, (app) => {
  app.delete(app.findCollectionByNameOrId("messages"));
});
