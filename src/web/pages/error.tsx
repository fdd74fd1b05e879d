/** A page that could not be shown: what went wrong and what to do next, with the time controls to try again. */
import { href, type PageContext } from '../context.js';
import { Layout } from '../layout.js';

export function ErrorPage({ ctx, status, title, detail }: { ctx: PageContext; status: number; title: string; detail: string }) {
  return (
    <Layout ctx={ctx} title={title}>
      <h1>{title}</h1>
      <p class="error">{detail}</p>
      <p>
        {status === 404 ? 'Search for it from ' : status === 400 ? 'Correct it in the form above, or start again from ' : 'Try again, or start from '}
        <a href={href(ctx, '/')}>the start page</a>.
      </p>
    </Layout>
  );
}
