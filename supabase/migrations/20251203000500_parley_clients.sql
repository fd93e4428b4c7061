-- request_logs.client: the client that sent an API call (claude-code, openai-python, ...;
-- core/api/clients.py), generated from the call's metadata as eval_run_id is, so
-- parley_record_calls is unchanged and spend can be grouped by client and user; and a call's
-- kind may be 'embedding' (POST /v1/embeddings).
alter table public.request_logs add column if not exists client text
  generated always as (metadata ->> 'client') stored;
create index if not exists request_logs_client_created_idx on public.request_logs (client, created_at)
  where client is not null;
alter table public.request_logs drop constraint if exists request_logs_kind_check;
alter table public.request_logs add constraint request_logs_kind_check
  check (kind in ('chat', 'image', 'embedding'));

-- Spend per client and user over [p_since, p_until] (days, inclusive; null: open), for
-- `python -m core usage --by client` and the cost console, under the caller's row-level
-- security (a non-admin sees their own calls). Failed attempts count as failures, not calls.
create or replace function public.parley_spend_by_client(p_user text, p_since date, p_until date)
returns json
language sql stable
set search_path = public, pg_temp
as $$
  select coalesce(json_agg(r order by r.cost desc, r.client, r.user_id), '[]'::json) from (
    select coalesce(client, 'unknown') as client, user_id,
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
