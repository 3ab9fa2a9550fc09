// tests/support/dynalite/serve.js - run dynalite in memory on 127.0.0.1.
// Its own cli.js cannot take port 0 (it falls back to 4567), so this starts
// the server itself: listen on 127.0.0.1:PORT (0: the OS chooses), tables
// ACTIVE at once, and print "listening PORT" when ready.
"use strict";
const dynalite = require("dynalite");

const port = Number(process.argv[2] || 0);
const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.listen(port, "127.0.0.1", () => {
    console.log("listening " + server.address().port);
});
const stop = () => server.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
