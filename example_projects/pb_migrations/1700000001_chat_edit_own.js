/// <reference path="../pb_data/types.d.ts" />
// Editing your own message (the chat examples' edit form). A migration of its own, so
// a demo folder made before it (.demo/) gets it too. The owner rule, and the owner may
// not hand a message to someone else: `user` must stay the signed-in user's id.
migrate((app) => {
  const messages = app.findCollectionByNameOrId("messages");
  messages.updateRule =
    "user = @request.auth.id && (@request.body.user:isset = false || @request.body.user = @request.auth.id)";
  app.save(messages);
}, (app) => {
  const messages = app.findCollectionByNameOrId("messages");
  messages.updateRule = null;
  app.save(messages);
});
