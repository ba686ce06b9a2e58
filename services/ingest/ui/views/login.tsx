import { UI_BASE } from '../paths.js';
import { Layout } from './layout.js';

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
          <label for="name">Your name (recorded on approvals and pauses)</label>
          <input
            id="name"
            name="name"
            required
            autocomplete="username"
            pattern="[A-Za-z0-9_.@+\-]{1,100}"
            value={props.name ?? ''}
          />
          {props.needsToken && (
            <>
              <label for="token">Admin token</label>
              <input id="token" name="token" type="password" required autocomplete="current-password" />
            </>
          )}
          <button type="submit">Sign in</button>
        </form>
      </section>
    </Layout>
  );
}
