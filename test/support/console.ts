/** Signs in to the console at `url` with the login form's `fields`: the session cookie and the page's CSRF token. */
export async function signInToConsole(
  url: string,
  fields: Record<string, string>,
): Promise<{ cookie: string; csrf: string }> {
  const res = await fetch(`${url}/ui/login`, {
    method: 'POST',
    body: new URLSearchParams(fields),
    redirect: 'manual',
  });
  if (res.status !== 303) throw new Error(`sign-in answered ${res.status}, not 303`);
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] as string;
  const page = await (await fetch(`${url}/ui`, { headers: { cookie } })).text();
  const csrf = /<meta name="csrf-token" content="([^"]+)"/.exec(page)?.[1];
  if (!csrf) throw new Error('no csrf meta on the console page');
  return { cookie, csrf };
}
