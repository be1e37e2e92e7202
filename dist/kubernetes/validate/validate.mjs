// Validates Kubernetes manifests offline: each YAML document is checked against the JSON schema that
// kubernetes-models generated from Kubernetes' published OpenAPI definitions for its apiVersion and kind.
// Usage: node validate.mjs FILE...   Exit 0 when every document is valid; 1 with one line per error otherwise.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const models = {
  "apps/v1/DaemonSet": () => import("kubernetes-models/apps/v1/DaemonSet"),
};

let failed = false;
for (const file of process.argv.slice(2)) {
  for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
    if (doc.errors.length > 0) {
      for (const e of doc.errors) console.error(`${file}: YAML: ${e.message}`);
      failed = true;
      continue;
    }
    const obj = doc.toJS();
    if (obj == null) continue;
    const key = `${obj.apiVersion}/${obj.kind}`;
    const load = models[key];
    if (!load) {
      console.error(`${file}: ${key}: no schema here for this kind`);
      failed = true;
      continue;
    }
    const module = await load();
    const Model = module[obj.kind];
    try {
      new Model(obj).validate();
      console.log(`${file}: ${key} ${obj.metadata?.name}: valid`);
    } catch (e) {
      console.error(`${file}: ${key} ${obj.metadata?.name}: ${e.message}`);
      failed = true;
    }
  }
}
process.exit(failed ? 1 : 0);
