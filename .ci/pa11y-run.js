// Runs pa11y (HTML_CodeSniffer, WCAG 2 AA) over the pages listed in a JSON file, one shared
// Chromium, and prints every error with a summary. Exit code 1 when any page has an error.
// Usage: NODE_PATH=<pa11y's node_modules> node .ci/pa11y-run.js .ci/pa11y.json pages.json
"use strict";
const fs = require("fs");
const pa11y = require("pa11y");
const puppeteer = require("puppeteer");

// HTML_CodeSniffer's own mistakes, each narrowed to the markup it misreads. autocomplete="username"
// on an e-mail field is valid HTML (WHATWG's Username group; axe-core fixed the same false alarm,
// dequelabs/axe-core#2896) and is what password managers look for on a sign-in form.
const FALSE_POSITIVES = [
  (issue) =>
    issue.code.endsWith(".H98") &&
    /type="email"/.test(issue.context) &&
    /autocomplete="username"/.test(issue.context),
];

async function main() {
  const config = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  const pages = JSON.parse(fs.readFileSync(process.argv[3], "utf8"));
  const browser = await puppeteer.launch(config.chromeLaunchConfig);
  let failed = 0;
  try {
    for (const page of pages) {
      const options = { ...config, browser, headers: page.cookie ? { Cookie: page.cookie } : {} };
      const result = await pa11y(page.url, options);
      const errors = result.issues.filter(
        (issue) => issue.type === "error" && !FALSE_POSITIVES.some((known) => known(issue)),
      );
      const path = new URL(page.url).pathname + new URL(page.url).search;
      console.log(`${errors.length ? "FAIL" : "ok  "} ${page.who.padEnd(10)} ${path}  ${result.documentTitle}`);
      for (const issue of errors) {
        console.log(`     ${issue.code}\n     ${issue.message}\n     ${issue.selector}\n     ${issue.context}`);
      }
      failed += errors.length ? 1 : 0;
    }
  } finally {
    await browser.close();
  }
  console.log(`\npa11y (HTML_CodeSniffer, ${config.standard}): ${pages.length - failed} of ${pages.length} pages without errors.`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 2;
});
