// Checks upbeat's status page in a real browser (Debian's Chromium driven by playwright-core).
//
//   node status-page.mjs <base-url> <artifact-dir> <expect-json>
//
// expect-json: {"banner": "Major outage", "outage_monitor": "Checkout API", "today": "2026-11-29",
// "http_monitor": true}. Every check runs, whatever failed before it; each prints one line,
// `ok - ...` or `not ok - ...`, and the exit code is 1 when any failed (2 on bad usage).
// Screenshots go to <artifact-dir>. crates/upbeat/tests/it/browser.rs runs this against a live
// app; scripts/install-test-deps installs Chromium and playwright-core.

import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.UPBEAT_CHROMIUM || '/usr/bin/chromium';
// The network is closed: without the background-networking flags Chromium keeps trying to reach
// Google's services and floods refused connections.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const MAX_HTML_BYTES = 100_000;
const BAR_DAYS = 90;
const DAY_MS = 86_400_000;

const [baseArg, artifactDir, expectJson] = process.argv.slice(2);
if (!baseArg || !artifactDir || !expectJson) {
  console.error('usage: node status-page.mjs <base-url> <artifact-dir> <expect-json>');
  process.exit(2);
}
const expect = JSON.parse(expectJson);
for (const key of ['banner', 'outage_monitor', 'today']) {
  if (typeof expect[key] !== 'string') {
    console.error(`expect-json lacks the string "${key}"`);
    process.exit(2);
  }
}
const base = new URL(baseArg);
fs.mkdirSync(artifactDir, { recursive: true });

let failed = 0;
let passed = 0;
function check(name, ok, detail) {
  if (ok) {
    passed += 1;
    console.log(`ok - ${name}`);
  } else {
    failed += 1;
    console.log(`not ok - ${name}${detail === undefined ? '' : ` (${detail})`}`);
  }
  return ok;
}

/** Runs one group of checks; an exception fails the group and the next one still runs. */
async function section(name, body) {
  try {
    await body();
  } catch (e) {
    check(`${name}: completes`, false, String(e && e.message ? e.message : e).split('\n')[0]);
  }
}

// What every page in every context says to the console and asks of the network.
const consoleErrors = [];
const pageErrors = [];
const failedRequests = [];
const foreignRequests = [];
// URLs a check asks for knowing they are 404: their answer and Chromium's console line about it
// are what is tested, not failures.
const expectedMissing = new Set();

function watch(page, label) {
  page.setDefaultTimeout(10_000);
  page.on('console', (msg) => {
    if (msg.type() === 'error') {
      const at = msg.location();
      if (at && expectedMissing.has(at.url)) return;
      consoleErrors.push(`[${label}] ${msg.text()}${at && at.url ? ` at ${at.url}:${at.lineNumber}` : ''}`);
    }
  });
  page.on('pageerror', (err) => pageErrors.push(`[${label}] ${err.message}`));
  page.on('requestfailed', (req) => {
    failedRequests.push(`[${label}] ${req.method()} ${req.url()}: ${req.failure()?.errorText ?? 'failed'}`);
  });
  page.on('response', (res) => {
    if (res.status() === 404 && expectedMissing.has(res.url())) return;
    if (res.status() >= 400) failedRequests.push(`[${label}] ${res.request().method()} ${res.url()}: HTTP ${res.status()}`);
  });
  page.on('request', (req) => {
    const url = new URL(req.url());
    if (['data:', 'blob:', 'about:'].includes(url.protocol)) return;
    if (url.host !== base.host) foreignRequests.push(`[${label}] ${req.method()} ${req.url()}`);
  });
  return page;
}

async function newPage(browser, label, options) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
  return { context, page: watch(await context.newPage(), label) };
}

async function banner(page) {
  const node = page.locator('p.banner').first();
  return (await node.count()) === 0 ? null : (await node.textContent()).trim();
}

function shot(name) {
  return { path: path.join(artifactDir, name), fullPage: true };
}

/** The width of an element's box; 0 when it has none (display: none, detached). */
async function width(locator) {
  const box = await locator.boundingBox();
  return box ? box.width : 0;
}

/** How a tooltip is styled, to say why a visibility check failed. */
async function describe(locator) {
  return locator.evaluate((el) => {
    const s = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    return `box ${Math.round(r.width)}x${Math.round(r.height)}, display ${s.display}, visibility ${s.visibility}, opacity ${s.opacity}, position ${s.position}`;
  });
}

/**
 * The WCAG contrast ratio of an element's text: its computed `color` against its effective
 * background, the backgrounds of it and its ancestors composited until an opaque one.
 */
async function contrast(locator) {
  return locator.evaluate((el) => {
    const rgba = (css) => {
      const m = css.match(/rgba?\(([^)]*)\)/);
      if (!m) throw new Error(`cannot read the colour ${css}`);
      const p = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
      return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
    };
    const layers = [];
    for (let node = el; node; node = node.parentElement) {
      const bg = rgba(getComputedStyle(node).backgroundColor);
      if (bg[3] > 0) layers.push(bg);
      if (bg[3] >= 1) break;
    }
    // Below everything, the canvas: what the page's color-scheme paints.
    let under = matchMedia('(prefers-color-scheme: dark)').matches ? [0, 0, 0] : [255, 255, 255];
    for (const [r, g, b, a] of layers.reverse()) under = [r * a + under[0] * (1 - a), g * a + under[1] * (1 - a), b * a + under[2] * (1 - a)];
    const [r, g, b, a] = rgba(getComputedStyle(el).color);
    const fg = [r * a + under[0] * (1 - a), g * a + under[1] * (1 - a), b * a + under[2] * (1 - a)];
    const lum = (c) => {
      const [R, G, B] = c.map((v) => {
        const s = v / 255;
        return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * R + 0.7152 * G + 0.0722 * B;
    };
    const [hi, lo] = [lum(fg), lum(under)].sort((x, y) => y - x);
    return { ratio: (hi + 0.05) / (lo + 0.05), text: el.textContent.trim().slice(0, 40), fg: fg.map(Math.round).join(','), bg: under.map(Math.round).join(',') };
  });
}

function isDate(s) {
  return typeof s === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(`${s}T00:00:00Z`));
}

const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 });
console.log(`# ${browser.version()} against ${base.href}`);
try {
  // Light theme, 1280 px wide: most checks run on this page.
  const light = await newPage(browser, 'light-1280', { colorScheme: 'light' });
  const page = light.page;

  await section('the HTML of /', async () => {
    const response = await page.goto(base.href, { waitUntil: 'load' });
    check('/ answers 200', response && response.status() === 200, `status ${response && response.status()}`);
    const body = response ? await response.body() : Buffer.alloc(0);
    check(`/ is under ${MAX_HTML_BYTES} bytes`, body.length < MAX_HTML_BYTES, `${body.length} bytes`);
  });

  // Before any focus or hover changes how it looks.
  await section('light screenshot', async () => {
    await page.screenshot(shot('light-1280.png'));
    check('screenshot light-1280.png', true);
  });

  await section('the banner', async () => {
    const text = await banner(page);
    check(`the banner says "${expect.banner}"`, text === expect.banner, `p.banner says ${JSON.stringify(text)}`);
  });

  await section('the uptime bars', async () => {
    const bars = await page.$$eval('ol.bar', (lists) =>
      lists.map((ol) =>
        [...ol.children]
          .filter((li) => li.matches('li[data-date]'))
          .map((li) => ({ date: li.getAttribute('data-date'), tabindex: li.getAttribute('tabindex') })),
      ),
    );
    check('there is at least one uptime bar (ol.bar)', bars.length > 0, 'no ol.bar on the page');
    bars.forEach((days, i) => {
      const n = `bar ${i + 1}`;
      check(`${n} has ${BAR_DAYS} li[data-date]`, days.length === BAR_DAYS, `${days.length}`);
      const bad = days.filter((d) => !isDate(d.date)).map((d) => d.date);
      check(`${n}: every data-date is YYYY-MM-DD`, bad.length === 0, `not dates: ${bad.slice(0, 3).join(', ')}`);
      let gap = null;
      for (let k = 1; k < days.length && gap === null; k += 1) {
        if (Date.parse(days[k].date) - Date.parse(days[k - 1].date) !== DAY_MS) gap = `${days[k - 1].date} then ${days[k].date}`;
      }
      check(`${n}: dates go up one day at a time`, gap === null, gap);
      const last = days.length ? days[days.length - 1].date : null;
      check(`${n}: the last day is ${expect.today}`, last === expect.today, `last is ${last}`);
      const stops = days.filter((d) => d.tabindex === '0').map((d) => d.date);
      check(`${n}: one day, today, has tabindex="0" (one tab stop)`, stops.length === 1 && stops[0] === expect.today, `tab stops: ${stops.join(', ')}`);
    });
  });

  await section('the outage tooltip', async () => {
    const todays = page.locator(`ol.bar > li[data-date="${expect.today}"]`);
    let day = null;
    for (let i = 0; i < (await todays.count()); i += 1) {
      const candidate = todays.nth(i);
      const tips = await candidate.locator('.tip').allTextContents();
      if (tips.some((t) => t.includes(expect.outage_monitor))) {
        day = candidate;
        break;
      }
    }
    if (!check(`today's day in some bar has a .tip naming "${expect.outage_monitor}"`, day !== null, `${await todays.count()} li for today`)) return;
    const tip = day.locator('.tip').filter({ hasText: expect.outage_monitor }).first();
    await page.mouse.move(0, 0);
    await page.evaluate(() => document.activeElement && document.activeElement.blur());
    check('the tooltip is hidden before focus (width <= 2px)', (await width(tip)) <= 2, await describe(tip));
    await day.focus();
    const focused = await day.evaluate((el) => document.activeElement === el);
    check('the day takes keyboard focus', focused, `activeElement is ${await page.evaluate(() => document.activeElement?.outerHTML.slice(0, 80))}`);
    check('the tooltip shows on focus (width > 40px)', (await width(tip)) > 40, await describe(tip));
    await day.evaluate((el) => el.blur());
    check('the tooltip hides again when focus leaves', (await width(tip)) <= 2, await describe(tip));
    await day.hover();
    check('the tooltip shows on hover (width > 40px)', (await width(tip)) > 40, await describe(tip));
    await page.mouse.move(0, 0);
  });

  await section('keyboard reachability', async () => {
    await page.goto(base.href);
    await page.mouse.move(0, 0);
    let reached = 0;
    for (let press = 1; press <= 40 && !reached; press += 1) {
      await page.keyboard.press('Tab');
      if (await page.evaluate(() => !!document.activeElement && document.activeElement.matches('li[data-date]'))) reached = press;
    }
    check('Tab from the top reaches a day of a bar within 40 presses', reached > 0, 'not reached');
    if (reached) console.log(`# reached after ${reached} presses`);
  });

  await section('arrow keys move through a bar', async () => {
    await page.goto(base.href);
    await page.mouse.move(0, 0);
    let day = null;
    for (let press = 1; press <= 40 && !day; press += 1) {
      await page.keyboard.press('Tab');
      if (await page.evaluate(() => !!document.activeElement && document.activeElement.matches('ol.bar > li'))) day = true;
    }
    if (!check('Tab reaches a day', day !== null, 'not reached')) return;
    const active = () =>
      page.evaluate(() => {
        const el = document.activeElement;
        const bar = el && el.closest('ol.bar');
        return { date: el && el.getAttribute('data-date'), bar: bar ? [...document.querySelectorAll('ol.bar')].indexOf(bar) : -1 };
      });
    const start = await active();
    check(`Tab enters the bar at today (${expect.today})`, start.date === expect.today, JSON.stringify(start));
    const dates = await page.$$eval('ol.bar', (bars, i) => [...bars[i].children].map((li) => li.getAttribute('data-date')), start.bar);
    const tipShows = async (date) => {
      const tip = page.locator('ol.bar').nth(start.bar).locator(`li[data-date="${date}"] > .tip`);
      return [(await width(tip)) > 40, await describe(tip)];
    };
    await page.keyboard.press('ArrowLeft');
    let now = await active();
    check('ArrowLeft moves focus to the day before', now.bar === start.bar && now.date === dates[dates.length - 2], JSON.stringify(now));
    check("the day before shows its tooltip", ...(await tipShows(dates[dates.length - 2])));
    await page.keyboard.press('ArrowRight');
    now = await active();
    check('ArrowRight moves focus back to today', now.bar === start.bar && now.date === expect.today, JSON.stringify(now));
    await page.keyboard.press('ArrowRight');
    now = await active();
    check('ArrowRight on today stays on today', now.date === expect.today, JSON.stringify(now));
    await page.keyboard.press('Home');
    now = await active();
    check('Home moves focus to the first day', now.bar === start.bar && now.date === dates[0], JSON.stringify(now));
    check('the first day shows its tooltip', ...(await tipShows(dates[0])));
    const stops = await page.$$eval('ol.bar', (bars, i) => [...bars[i].children].filter((li) => li.tabIndex === 0).map((li) => li.getAttribute('data-date')), start.bar);
    check('the focused day is now the bar\'s one tab stop', stops.length === 1 && stops[0] === dates[0], stops.join(', '));
    await page.keyboard.press('End');
    now = await active();
    check('End moves focus to today', now.bar === start.bar && now.date === expect.today, JSON.stringify(now));
    await page.keyboard.press('Tab');
    now = await active();
    check('Tab from a day leaves its bar (the bar is one tab stop)', now.bar !== start.bar, JSON.stringify(now));
    await page.keyboard.press('Shift+Tab');
    now = await active();
    check('Shift+Tab comes back to the same day', now.bar === start.bar && now.date === expect.today, JSON.stringify(now));
  });

  if (expect.http_monitor) {
    await section('the response-time chart', async () => {
      const charts = await page.$$eval('svg.chart', (svgs) =>
        svgs.map((svg) => ({
          named: !!(svg.querySelector('title')?.textContent.trim() || svg.getAttribute('aria-label')?.trim()),
          drawn: !!svg.querySelector('path, polyline'),
        })),
      );
      check('there is an svg.chart', charts.length > 0, 'none');
      if (charts.length) {
        check('every svg.chart has a <title> or aria-label', charts.every((c) => c.named));
        check('every svg.chart draws a path or polyline', charts.every((c) => c.drawn));
      }
    });
  }

  await section('links and text', async () => {
    check('there is a link to the subscribe page (a[href$="subscribe"])', (await page.locator('a[href$="subscribe"]').count()) > 0, 'none');
    const text = await page.evaluate(() => document.body.innerText);
    check('the page says which time zone times are in ("Times are in")', text.includes('Times are in'));
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    check('light theme: the body is rgb(255, 255, 255)', bg === 'rgb(255, 255, 255)', bg);
  });

  await section('contrast (WCAG AA, 4.5:1)', async () => {
    for (const colorScheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme });
      await page.goto(base.href);
      await page.mouse.move(0, 0);
      const measured = [['the banner', await contrast(page.locator('p.banner').first())]];
      const states = page.locator('.state');
      for (let i = 0; i < (await states.count()); i += 1) measured.push([`status word ${i + 1}`, await contrast(states.nth(i))]);
      const day = page.locator(`ol.bar > li[data-date="${expect.today}"]`).first();
      await day.focus();
      measured.push(["a bar's tooltip", await contrast(day.locator('.tip'))]);
      for (const [what, c] of measured) {
        check(`${colorScheme}: ${what} ("${c.text}") has contrast >= 4.5`, c.ratio >= 4.5, `${c.ratio.toFixed(2)}: rgb(${c.fg}) on rgb(${c.bg})`);
      }
      const link = page.locator('a[href*="incident/"]').first();
      if ((await link.count()) > 0) {
        await Promise.all([page.waitForURL(/\/incident\//), link.click()]);
        const c = await contrast(page.locator('p.banner').first());
        check(`${colorScheme}: the incident banner ("${c.text}") has contrast >= 4.5`, c.ratio >= 4.5, `${c.ratio.toFixed(2)}: rgb(${c.fg}) on rgb(${c.bg})`);
      }
    }
    await page.emulateMedia({ colorScheme: 'light' });
  });

  await section('the subscribe page', async () => {
    for (const colorScheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme });
      const response = await page.goto(new URL('subscribe', base).href);
      check(`${colorScheme}: /subscribe answers 200`, response && response.status() === 200, `status ${response && response.status()}`);
      const home = page.locator('header.top .site a');
      if (check(`${colorScheme}: /subscribe has the header`, (await home.count()) === 1, 'none')) {
        const href = new URL(await home.getAttribute('href'), page.url()).href;
        check(`${colorScheme}: the header leads home`, href === base.href, href);
      }
      const input = await page.locator('input[type="email"]').evaluate((el) => getComputedStyle(el).borderRadius);
      check(`${colorScheme}: the email field is styled (rounded)`, input === '6px', input);
      const c = await contrast(page.locator('button[type="submit"]'));
      check(`${colorScheme}: the button ("${c.text}") has contrast >= 4.5`, c.ratio >= 4.5, `${c.ratio.toFixed(2)}: rgb(${c.fg}) on rgb(${c.bg})`);
      await page.screenshot(shot(`subscribe-${colorScheme}.png`));
      check(`screenshot subscribe-${colorScheme}.png`, true);
    }
    await page.emulateMedia({ colorScheme: 'light' });
  });

  await section('the incident page', async () => {
    await page.goto(base.href);
    const link = page.locator('a[href*="incident/"]').first();
    if (!check('the page links an incident (a[href*="incident/"])', (await link.count()) > 0, 'no link')) return;
    await Promise.all([page.waitForURL(/\/incident\//), link.click()]);
    check('the link leads to an incident page', /\/incident\/[^/]+$/.test(new URL(page.url()).pathname), page.url());
    const updates = await page.locator('ol.updates > li').count();
    check('the incident page lists at least 3 updates (ol.updates > li)', updates >= 3, `${updates}`);
    await page.screenshot(shot('incident.png'));
    check('screenshot incident.png', true);
  });
  await light.context.close();

  await section('dark theme', async () => {
    const dark = await newPage(browser, 'dark-1280', { colorScheme: 'dark' });
    await dark.page.goto(base.href);
    const bg = await dark.page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    check('dark theme: the body is rgb(13, 17, 23)', bg === 'rgb(13, 17, 23)', bg);
    await dark.page.screenshot(shot('dark-1280.png'));
    check('screenshot dark-1280.png', true);
    await dark.context.close();
  });

  await section('320 px wide', async () => {
    const mobile = await newPage(browser, 'mobile-320', { colorScheme: 'light', viewport: { width: 320, height: 800 } });
    await mobile.page.goto(base.href);
    const scroll = await mobile.page.evaluate(() => document.documentElement.scrollWidth);
    check('no horizontal scroll at 320 px (scrollWidth <= 320)', scroll <= 320, `scrollWidth ${scroll}`);
    await mobile.page.screenshot(shot('mobile-320.png'));
    check('screenshot mobile-320.png', true);
    await mobile.context.close();
  });

  await section('360 px wide: 30 days a bar', async () => {
    const narrow = await newPage(browser, 'mobile-360', { colorScheme: 'light', viewport: { width: 360, height: 800 } });
    await narrow.page.goto(base.href);
    const bars = await narrow.page.$$eval('ol.bar', (lists) =>
      lists.map((ol) =>
        [...ol.children]
          .filter((li) => li.getClientRects().length > 0)
          .map((li) => ({ date: li.getAttribute('data-date'), width: li.getBoundingClientRect().width })),
      ),
    );
    check('there is a bar at 360 px', bars.length > 0, 'none');
    bars.forEach((days, i) => {
      check(`bar ${i + 1} shows 30 days at 360 px`, days.length === 30, `${days.length}`);
      const last = days.length ? days[days.length - 1].date : null;
      check(`bar ${i + 1}: the last shown day is today`, last === expect.today, `last is ${last}`);
      const thinnest = Math.min(...days.map((d) => d.width));
      check(`bar ${i + 1}: every shown day is at least 6 px wide`, thinnest >= 6, `${thinnest.toFixed(1)} px`);
    });
    const legend = await narrow.page.locator('.legend').first().innerText();
    check('the legend says "30 days ago"', legend.includes('30 days ago') && !legend.includes('90 days ago'), legend);
    const scroll = await narrow.page.evaluate(() => document.documentElement.scrollWidth);
    check('no horizontal scroll at 360 px', scroll <= 360, `scrollWidth ${scroll}`);
    const today = narrow.page.locator(`ol.bar > li[data-date="${expect.today}"]`).first();
    await today.focus();
    await narrow.page.keyboard.press('Home');
    const first = await narrow.page.evaluate(() => document.activeElement && document.activeElement.getAttribute('data-date'));
    check('Home goes to the first shown day', bars.length > 0 && first === bars[0][0]?.date, `${first}`);
    await narrow.page.mouse.move(0, 0);
    await narrow.page.evaluate(() => document.activeElement && document.activeElement.blur());
    await narrow.page.screenshot(shot('mobile-360.png'));
    check('screenshot mobile-360.png', true);
    await narrow.context.close();
  });

  await section('404', async () => {
    const lost = await newPage(browser, 'not-found', { colorScheme: 'light' });
    for (const [name, rel] of [['an unknown incident', 'incident/999999999'], ['an unknown path', 'no/such/page']]) {
      const url = new URL(rel, base).href;
      expectedMissing.add(url);
      const response = await lost.page.goto(url);
      check(`${name} answers 404`, response && response.status() === 404, `status ${response && response.status()}`);
      check(`${name} answers HTML`, /^text\/html/.test(response.headers()['content-type'] || ''), response.headers()['content-type']);
      const home = lost.page.locator('header.top .site a');
      if (check(`${name}: the page has the header (header.top .site a)`, (await home.count()) === 1, 'none')) {
        const href = new URL(await home.getAttribute('href'), lost.page.url()).href;
        check(`${name}: the header leads home (${base.href})`, href === base.href, href);
      }
      const h1 = (await lost.page.locator('h1').first().textContent()).trim();
      check(`${name} says "Page not found"`, h1 === 'Page not found', h1);
      const bg = await lost.page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      check(`${name} is styled like the page (body rgb(255, 255, 255))`, bg === 'rgb(255, 255, 255)', bg);
    }
    await lost.page.screenshot(shot('not-found.png'));
    check('screenshot not-found.png', true);
    const api = await lost.context.request.get(new URL('api/v2/nope.json', base).href);
    const body = await api.text();
    check('an unknown /api/ path keeps its JSON error', api.status() === 404 && JSON.parse(body).error?.code === 'route_not_found', `${api.status()} ${body.slice(0, 80)}`);
    await lost.context.close();
  });

  await section('without JavaScript', async () => {
    const nojs = await newPage(browser, 'no-js', { javaScriptEnabled: false });
    await nojs.page.goto(base.href);
    const text = await banner(nojs.page);
    check('without JavaScript the banner still says the same', text === expect.banner, `p.banner says ${JSON.stringify(text)}`);
    const untabbable = await nojs.page.$$eval('ol.bar > li', (days) => days.filter((li) => li.getAttribute('tabindex') !== '0').length);
    check('without JavaScript every day has tabindex="0" (each reached with Tab)', untabbable === 0, `${untabbable} without`);
    await nojs.page.keyboard.press('Tab');
    let reached = 0;
    for (let press = 1; press <= 40 && !reached; press += 1) {
      if (await nojs.page.evaluate(() => !!document.activeElement && document.activeElement.matches('li[data-date]'))) reached = press;
      else await nojs.page.keyboard.press('Tab');
    }
    const next = reached ? (await nojs.page.keyboard.press('Tab'), await nojs.page.evaluate(() => document.activeElement.matches('li[data-date]'))) : false;
    check('without JavaScript Tab goes from one day to the next', next, reached ? 'left the bar' : 'no day reached');
    await nojs.context.close();
  });
} finally {
  await browser.close();
}

const list = (items) => items.slice(0, 5).join('; ') + (items.length > 5 ? `; and ${items.length - 5} more` : '');
check('no console errors', consoleErrors.length === 0, list(consoleErrors));
check('no uncaught page errors', pageErrors.length === 0, list(pageErrors));
check('no failed requests', failedRequests.length === 0, list(failedRequests));
check(`no requests to hosts other than ${base.host}`, foreignRequests.length === 0, list(foreignRequests));

console.log(`# browser checks: ${passed} ok, ${failed} not ok; screenshots in ${artifactDir}`);
process.exit(failed ? 1 : 0);
