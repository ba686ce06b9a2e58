import type { Child } from 'hono/jsx';
import { UI_BASE } from '../paths.js';

export interface PageUser {
  name: string;
  csrf: string;
}

export function Layout(props: { title: string; user?: PageUser; children: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · Hermes`}</title>
        <link rel="icon" href={`${UI_BASE}/assets/icon.svg`} type="image/svg+xml" />
        <link rel="stylesheet" href={`${UI_BASE}/assets/console.css`} />
        {props.user && (
          <>
            <meta name="csrf-token" content={props.user.csrf} />
            <meta name="hermes-user" content={props.user.name} />
            <script src={`${UI_BASE}/assets/console.js`} defer />
          </>
        )}
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <a class="brand" href={UI_BASE}>
            Hermes incident console
          </a>
          {props.user && (
            <nav aria-label="Main">
              <a href={UI_BASE}>Incidents</a>
              <a href="/admin/queues">Bull Board</a>
              <span class="who">Signed in as {props.user.name}</span>
              <form method="post" action={`${UI_BASE}/logout`} class="inline">
                <input type="hidden" name="csrf" value={props.user.csrf} />
                <button type="submit" class="link">
                  Sign out
                </button>
              </form>
            </nav>
          )}
        </header>
        <p id="flash" role="status" aria-live="polite" />
        <main id="main">{props.children}</main>
      </body>
    </html>
  );
}

/** A server-rendered region the client script re-fetches (with ETag) every `intervalMs`. */
export function Live(props: { id: string; src: string; intervalMs: number; children: Child }) {
  return (
    <div id={props.id} data-live={props.src} data-interval={String(props.intervalMs)}>
      {props.children}
    </div>
  );
}
