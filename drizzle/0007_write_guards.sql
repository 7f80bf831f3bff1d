-- Guards for writes that run as one SQL-over-HTTP batch (src/db/write-batch.ts). A batch
-- cannot branch on an earlier statement's result in the Worker, so a statement that finds
-- the write must not go on (quota used up, row missing, wrong state) calls tenantry_fail:
-- the whole batch rolls back and the Worker turns the error into that problem.
CREATE OR REPLACE FUNCTION tenantry_fail(problem_code text, problem_detail text, extensions jsonb DEFAULT '{}'::jsonb)
RETURNS boolean
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
  RAISE EXCEPTION USING
    ERRCODE = 'TY001',
    MESSAGE = problem_detail,
    DETAIL = jsonb_build_object('code', problem_code, 'extensions', extensions)::text;
END
$$;
