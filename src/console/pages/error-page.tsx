import type { FC } from "hono/jsx";
import { Layout, ProblemAlert } from "../layout";
import type { FriendlyProblem } from "../messages";
import type { ConsoleSession } from "../session";

/** A whole page for a failure the page cannot render around (403, 404, 429 on its main call). */
export const ErrorPage: FC<{ session: ConsoleSession; problem: FriendlyProblem }> = ({
  session,
  problem,
}) => (
  <Layout title={problem.title} session={session}>
    <h1>{problem.title}</h1>
    <ProblemAlert problem={problem} titled={false} />
    <p>
      <a href="/console">Back to the console</a>
    </p>
  </Layout>
);
