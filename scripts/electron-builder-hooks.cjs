// electron-builder hooks (electron-builder.yml). CommonJS: electron-builder loads it with require.
//
// beforeBuild returns false: "node_modules are handled externally". Our bundles inline every
// runtime dependency (vite.electron.config.ts) and app/package.json declares none, so the app
// ships no node_modules. Without this, electron-builder 26 finds no modules in app/, falls back
// to the project root and packs the CLI's runtime dependencies (ws, commander, …) into app.asar.
exports.beforeBuild = async function beforeBuild() {
  return false;
};
