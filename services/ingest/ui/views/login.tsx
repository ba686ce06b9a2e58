import { UI_BASE } from '../paths.js';
import { Layout } from './layout.js';

/**
 * With tokens, a named token says who you are; the name is asked only for the break-glass admin
 * token (recorded as `<name>+break-glass`). Without tokens, the name is all there is.
 */
export function LoginPage(props: { next: string; needsToken: boolean; error?: string; name?: string }) {
  return (
    <Layout title="Sign in">
      <section class="card login">
        <h1>Sign in</h1>
        {props.error && (
          <p class="error" role="alert">
            {props.error}
          </p>
        )}
        <form method="post" action={`${UI_BASE}/login`}>
          <input type="hidden" name="next" value={props.next} />
          {props.needsToken && (
            <>
              <label for="token">Your token</label>
              <input id="token" name="token" type="password" required autocomplete="current-password" />
            </>
          )}
          <label for="name">
            {props.needsToken
              ? 'Your name (only with the break-glass admin token; a named token says who you are)'
              : 'Your name (recorded on approvals and pauses)'}
          </label>
          <input
            id="name"
            name="name"
            required={!props.needsToken}
            autocomplete="username"
            pattern="[A-Za-z0-9_.@+\-]{1,100}"
            value={props.name ?? ''}
          />
          <button type="submit">Sign in</button>
        </form>
      </section>
    </Layout>
  );
}
