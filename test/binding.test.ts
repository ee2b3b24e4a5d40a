import { suite } from "uvu";
import * as assert from "uvu/assert";
import { existsSync } from "node:fs";
import { ia } from "./helpers/engine.js";

const binding = suite("binding");

binding("loads the addon and registers a CPU device", () => {
  const { path, devices, native } = ia.getBinding();
  assert.ok(existsSync(path));
  assert.ok(
    devices.some((d) => d.type === "cpu"),
    `devices: ${JSON.stringify(devices)}`,
  );
  const info = native.systemInfo();
  assert.ok(["prebuilt", "source"].includes(info.buildMode));
  console.log(`    addon: ${path} (${info.buildMode}); devices: ${devices.map((d) => d.name).join(", ")}`);
});

binding("the same binding object is returned on every call", () => {
  assert.is(ia.getBinding(), ia.getBinding());
});

binding.run();
