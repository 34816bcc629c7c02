// Serves the Firestore gRPC API (@firestore-emulator/server) on loopback and prints "listening <port>".
//
// Usage: node tests/store/firestore_emulator.mjs [port]   (port 0, the default, picks a free one)
// Stops on SIGTERM/SIGINT or when stdin closes, so it never outlives the test run that started it.
import { FirestoreServer } from "@firestore-emulator/server";
import { ServerCredentials } from "@grpc/grpc-js";

const requestedPort = Number(process.argv[2] ?? 0);
const emulator = new FirestoreServer();

// FirestoreServer.start() binds every interface; bind its gRPC server to loopback instead.
emulator.server.bindAsync(`127.0.0.1:${requestedPort}`, ServerCredentials.createInsecure(), (error, port) => {
  if (error) {
    console.error(`firestore emulator: cannot bind 127.0.0.1:${requestedPort}: ${error.message}`);
    process.exit(1);
  }
  process.stdout.write(`listening ${port}\n`);
});

const stop = () => {
  emulator.stop();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.stdin.on("end", stop);
process.stdin.resume();
