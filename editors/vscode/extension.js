// The VS Code client for `doctrine lsp`: starts the server over stdio for .doctrine files.
"use strict";

const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const settings = vscode.workspace.getConfiguration("doctrine");
  const [command, ...args] = settings.get("server.command", ["doctrine", "lsp"]);
  const server = { command, args };
  client = new LanguageClient(
    "doctrine",
    "Doctrine",
    { run: server, debug: server },
    {
      documentSelector: [
        { scheme: "file", language: "doctrine" },
        { scheme: "untitled", language: "doctrine" },
      ],
      initializationOptions: { debounce: settings.get("server.debounce", 150) },
      // Files changed on the disk (a checkout): the server re-checks what imports them.
      synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher("**/*.doctrine") },
    },
  );
  // A missing `doctrine` command is the usual first problem: say what to install.
  client.start().catch((err) => {
    vscode.window.showErrorMessage(
      `Could not start the doctrine language server (${command}): ${err.message}. ` +
        "Install it with `pip install doctrine`, or set doctrine.server.command.",
    );
  });
  context.subscriptions.push({ dispose: () => client && client.stop() });
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
