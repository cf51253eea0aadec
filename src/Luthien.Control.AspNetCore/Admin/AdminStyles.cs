namespace Luthien.Control.AspNetCore;

/// <summary>
/// The admin area's one stylesheet, served at <c>{prefix}/admin.css</c>: the pages' Content-Security-Policy allows
/// styles from the area itself only (no inline style), and no script at all.
/// </summary>
internal static class AdminStyles
{
    /// <summary>The stylesheet.</summary>
    public const string Css = """
        :root {
          --bg: #f5f6f8; --panel: #fff; --text: #17202b; --muted: #5c6877; --faint: #8a94a1; --line: #e2e5ea; --line-strong: #cfd4db;
          --accent: #3d5afe; --accent-ink: #2740c9; --accent-weak: #eef1ff; --head: #111827; --head-text: #e5e9f0;
          --ok: #15703a; --ok-bg: #dcf5e4; --warn: #8a5a00; --warn-bg: #fdf0cf; --err: #b42318; --err-bg: #fde4e1; --gone: #4b5563; --gone-bg: #eceef1;
          --code-bg: #f7f8fa; --jk: #8b2fc9; --js: #0b7a3e; --jn: #b45309; --jl: #1d4ed8;
          --sans: Inter, "Segoe UI", system-ui, -apple-system, Roboto, "Helvetica Neue", "DejaVu Sans", Arial, sans-serif;
          --mono: "JetBrains Mono", "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", "Liberation Mono", monospace;
          color-scheme: light;
        }
        @media (prefers-color-scheme: dark) {
          :root {
            --bg: #0f1318; --panel: #171c23; --text: #e6e9ee; --muted: #9aa4b1; --faint: #6b7582; --line: #262d37; --line-strong: #343d49;
            --accent: #8199ff; --accent-ink: #a8b8ff; --accent-weak: #1d2540; --head: #0a0d11; --head-text: #e5e9f0;
            --ok: #6fdc97; --ok-bg: #123322; --warn: #f2c46b; --warn-bg: #3a2c0d; --err: #ff8f84; --err-bg: #3d1512; --gone: #b8c0cc; --gone-bg: #272d36;
            --code-bg: #11151b; --jk: #d19bff; --js: #7fd6a0; --jn: #f5b26b; --jl: #8fb3ff;
            color-scheme: dark;
          }
        }
        * { box-sizing: border-box; }
        html { -webkit-text-size-adjust: 100%; }
        body { margin: 0; background: var(--bg); color: var(--text); font: 14px/1.5 var(--sans); }
        a { color: var(--accent-ink); text-decoration: none; }
        a:hover { text-decoration: underline; }
        code, pre, .mono { font-family: var(--mono); font-size: 12.5px; }
        h1.mono { font-size: 19px; font-weight: 600; letter-spacing: 0; }
        h1 { font-size: 22px; line-height: 1.25; margin: 0; font-weight: 650; letter-spacing: -0.01em; }
        h2 { font-size: 15px; margin: 0 0 12px; font-weight: 650; }
        .top { background: var(--head); color: var(--head-text); display: flex; align-items: center; gap: 28px; padding: 0 24px; height: 52px; position: sticky; top: 0; z-index: 2; }
        .brand { color: #fff; font-weight: 700; font-size: 15px; display: flex; align-items: center; gap: 10px; white-space: nowrap; }
        .brand:hover { text-decoration: none; }
        .brand .mark { width: 22px; height: 22px; border-radius: 6px; background: linear-gradient(135deg, #6a7dff, #23c4a1); display: inline-block; }
        .brand small { font-weight: 500; color: #9aa4b1; font-size: 13px; }
        .top nav { display: flex; gap: 4px; flex: 1; }
        .top nav a { color: #c4cad3; padding: 6px 12px; border-radius: 6px; font-weight: 500; }
        .top nav a:hover { background: #1f2937; color: #fff; text-decoration: none; }
        .top nav a.on { background: #273246; color: #fff; }
        .top form { display: flex; align-items: center; gap: 10px; margin: 0; color: #9aa4b1; font-size: 13px; }
        .top form button { background: transparent; color: #c4cad3; border: 1px solid #374151; }
        .top form button:hover { background: #1f2937; color: #fff; }
        main { max-width: 1480px; margin: 0 auto; padding: 24px; }
        .title { display: flex; align-items: center; gap: 12px; flex-wrap: wrap; margin-bottom: 18px; }
        .title .sub { color: var(--muted); }
        .crumb { display: inline-block; margin-bottom: 8px; color: var(--muted); font-size: 13px; }
        .panel { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 18px 20px; margin-bottom: 18px; }
        .panel.flush { padding: 0; overflow: hidden; }
        .panel > h2:first-child { margin-top: 0; }
        .panel-head { display: flex; align-items: baseline; justify-content: space-between; gap: 12px; }
        .panel-head .sub { color: var(--muted); font-size: 13px; }
        .notice { border-radius: 10px; padding: 12px 16px; margin-bottom: 18px; border: 1px solid var(--line-strong); background: var(--panel); }
        .notice.info { border-color: #c7d0ff; background: var(--accent-weak); }
        .notice.error { border-color: #f3b5ad; background: var(--err-bg); color: var(--err); }
        .notice.success { border-color: #a7e3bd; background: var(--ok-bg); color: var(--ok); }
        .notice p { margin: 4px 0 0; color: var(--text); }
        form.filters { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-end; }
        label { display: flex; flex-direction: column; gap: 4px; font-size: 12px; font-weight: 600; color: var(--muted); text-transform: uppercase; letter-spacing: 0.04em; }
        input { font: inherit; font-size: 14px; color: var(--text); background: var(--panel); border: 1px solid var(--line-strong); border-radius: 7px; padding: 7px 10px; min-width: 0; text-transform: none; letter-spacing: normal; }
        input:focus { outline: 2px solid var(--accent); outline-offset: -1px; border-color: transparent; }
        input.narrow { width: 92px; }
        input.mid { width: 170px; }
        button, .button { font: inherit; font-size: 13.5px; font-weight: 600; border-radius: 7px; padding: 7px 14px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; display: inline-block; line-height: 1.45; }
        button:hover, .button:hover { background: var(--accent-ink); text-decoration: none; }
        .button.ghost, button.ghost { background: transparent; color: var(--accent-ink); border-color: var(--line-strong); }
        .button.ghost:hover, button.ghost:hover { background: var(--accent-weak); }
        button.danger { background: transparent; color: var(--err); border-color: #f0b8b1; padding: 4px 12px; }
        button.danger:hover { background: var(--err-bg); }
        .table-wrap { overflow-x: auto; }
        table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
        th { text-align: left; font-size: 11.5px; text-transform: uppercase; letter-spacing: 0.05em; color: var(--muted); font-weight: 650; padding: 10px 12px; border-bottom: 1px solid var(--line-strong); background: var(--code-bg); white-space: nowrap; }
        td { padding: 9px 12px; border-bottom: 1px solid var(--line); vertical-align: middle; }
        table.list td { font-size: 13.5px; padding: 8px 10px; }
        table.list th { padding: 10px 10px; }
        table.list .code { font-size: 12px; }
        .small { display: block; font-size: 11.5px; line-height: 1.3; color: var(--faint); }
        td.nw { white-space: nowrap; }
        tbody tr:last-child td { border-bottom: 0; }
        tbody tr:hover td { background: var(--accent-weak); }
        td.num, th.num { text-align: right; white-space: nowrap; }
        td.time { white-space: nowrap; color: var(--muted); }
        td.id a { font-family: var(--mono); font-size: 12.5px; }
        td.wrap { word-break: break-word; }
        .muted { color: var(--muted); }
        .faint { color: var(--faint); }
        .st { display: inline-block; min-width: 42px; text-align: center; font-weight: 650; font-size: 12.5px; padding: 1px 8px; border-radius: 999px; background: var(--gone-bg); color: var(--gone); font-variant-numeric: tabular-nums; }
        .st-ok { background: var(--ok-bg); color: var(--ok); }
        .st-warn { background: var(--warn-bg); color: var(--warn); }
        .st-err { background: var(--err-bg); color: var(--err); }
        .st-gone { background: var(--gone-bg); color: var(--gone); }
        .tag { display: inline-block; font-size: 12px; padding: 1px 7px; border-radius: 5px; background: var(--code-bg); border: 1px solid var(--line); color: var(--muted); white-space: nowrap; }
        .tag + .tag { margin-left: 4px; }
        .tag.accent { background: var(--accent-weak); border-color: transparent; color: var(--accent-ink); }
        .code { font-family: var(--mono); font-size: 12.5px; color: var(--err); }
        .pager { display: flex; justify-content: space-between; align-items: center; padding: 12px 16px; border-top: 1px solid var(--line); color: var(--muted); font-size: 13px; }
        .empty { padding: 36px 20px; text-align: center; color: var(--muted); }
        dl.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 14px 24px; margin: 0; }
        dl.facts div { min-width: 0; }
        dl.facts dt { font-size: 11.5px; text-transform: uppercase; letter-spacing: 0.05em; color: var(--muted); font-weight: 650; }
        dl.facts dd { margin: 2px 0 0; font-size: 14.5px; word-break: break-word; }
        .grid2 { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 18px; }
        .grid2 > .panel { margin-bottom: 0; }
        .stack { margin-bottom: 18px; }
        pre { margin: 0; background: var(--code-bg); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; overflow: auto; max-height: 560px; line-height: 1.5; white-space: pre-wrap; word-break: break-word; }
        .jk { color: var(--jk); } .js { color: var(--js); } .jn { color: var(--jn); } .jl { color: var(--jl); }
        table.kv td { padding: 5px 10px; font-family: var(--mono); font-size: 12.5px; }
        table.kv td:first-child { color: var(--muted); white-space: nowrap; width: 1%; }
        .meta { display: flex; flex-wrap: wrap; gap: 8px; margin-bottom: 10px; }
        h3 { font-size: 12px; text-transform: uppercase; letter-spacing: 0.05em; color: var(--muted); margin: 16px 0 8px; }
        svg.timeline { width: 100%; height: auto; display: block; }
        svg.timeline .bar { fill: var(--accent); }
        svg.timeline .bar:hover { fill: var(--accent-ink); }
        svg.timeline .axis { stroke: var(--line-strong); stroke-width: 1; }
        svg.timeline .grid { stroke: var(--line); stroke-width: 1; stroke-dasharray: 3 4; }
        svg.timeline .tick { fill: var(--muted); font: 11px var(--sans); }
        svg.timeline .first { stroke: var(--ok); stroke-width: 1.5; stroke-dasharray: 4 3; }
        svg.timeline .first-label { fill: var(--ok); font: 600 10.5px var(--sans); }
        .secret { display: flex; gap: 10px; align-items: center; margin-top: 10px; }
        .secret code { font-size: 14px; padding: 9px 12px; background: var(--panel); border: 1px dashed var(--ok); border-radius: 7px; color: var(--text); user-select: all; word-break: break-all; }
        form.inline { display: inline; margin: 0; }
        form.create { display: flex; gap: 12px; align-items: flex-end; flex-wrap: wrap; }
        form.create input { width: 280px; }
        .login { min-height: 100vh; display: flex; align-items: center; justify-content: center; padding: 24px; }
        .login .card { width: 100%; max-width: 380px; background: var(--panel); border: 1px solid var(--line); border-radius: 14px; padding: 28px; box-shadow: 0 10px 30px rgba(15, 23, 42, 0.08); }
        .login .brand { color: var(--text); margin-bottom: 18px; }
        .login form { display: flex; flex-direction: column; gap: 14px; margin-top: 16px; }
        .login button { padding: 9px 14px; }
        .hint { color: var(--muted); font-size: 13px; }
        @media (max-width: 900px) {
          .grid2 { grid-template-columns: minmax(0, 1fr); }
          .top { gap: 12px; padding: 0 12px; }
          .top form span { display: none; }
          .brand small { display: none; }
          main { padding: 14px; }
          td, th { padding: 8px; }
          .hide-sm { display: none; }
        }
        """;
}
