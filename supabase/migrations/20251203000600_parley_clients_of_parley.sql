-- A call with no client in its metadata was made by Parley itself (the app, the CLI or the
-- Python API; since this release they record parley-app, parley-cli or parley-python) unless
-- it came through the HTTP API (metadata via = 'api'): only those are 'unknown'.
create or replace function public.parley_spend_by_client(p_user text, p_since date, p_until date)
returns json
language sql stable
set search_path = public, pg_temp
as $$
  select coalesce(json_agg(r order by r.cost desc, r.client, r.user_id), '[]'::json) from (
    select coalesce(client, case when metadata ->> 'via' = 'api' then 'unknown' else 'parley' end)
             as client, user_id,
           count(*) filter (where status = 'success') as calls,
           count(*) filter (where status <> 'success') as failures,
           coalesce(sum(input_tokens), 0) as input_tokens,
           coalesce(sum(output_tokens), 0) as output_tokens,
           coalesce(sum(total_cost), 0)::float8 as cost,
           count(*) filter (where status = 'success' and total_cost is null) as unpriced_calls
    from public.request_logs
    where (p_user is null or user_id = p_user)
      and (p_since is null or created_at >= p_since::timestamptz)
      and (p_until is null or created_at < (p_until + 1)::timestamptz)
    group by 1, 2) r
$$;
