-- Parley: the ledgers over REST (issue #25). The Supabase store cannot send SQL, so each
-- read and write that core/store/ledgers.py makes on SQLite and Postgres has a function here,
-- called as POST /rest/v1/rpc/<fn> (core/store/supabase.py):
--
--   parley_add_prices, parley_price_entries          the dated price book
--   parley_import_bills, parley_bills,               provider bills and the recorded side
--   parley_recorded_by_day                           of the reconciliation
--   parley_append_audit, parley_audit_entries        the audit log
--   parley_call_id_counts, parley_rollup_mismatches  the checks behind `db verify`
--
-- Who may call them is what the tables allow on Postgres: everyone signed in reads the price
-- book; a trusted caller (the service role, the tables' owner) or an admin adds prices,
-- imports bills and reads bills, recorded totals, the verify checks and the audit log; only
-- the service role appends to the audit log (the app writes it; nobody can forge an entry).
-- The functions that need more than the caller's own rows are security definer and check the
-- caller first (parley_request_user: null for a trusted caller; parley_is_admin). Timestamps
-- come back as ISO 8601 in UTC, days as YYYY-MM-DD, so every backend returns the same text.

-- Refuse a signed-in caller who is not an admin (42501, which the store reports as "not allowed").
create or replace function public.parley_require_ledger_admin(p_what text) returns void
language plpgsql stable security definer
set search_path = public, pg_temp
as $$
begin
  if public.parley_request_user() is not null and not public.parley_is_admin() then
    raise exception 'Only an admin may %.', p_what using errcode = '42501';
  end if;
end
$$;

create or replace function public.parley_utc_text(p_moment timestamptz) returns text
language sql immutable
set search_path = public, pg_temp
as $$
  select to_char(p_moment at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')
$$;

-- Append price-book entries (p_entries: a JSON array of price_book columns, USD per token);
-- returns their ids in the order given. A signed-in admin is recorded as created_by.
create or replace function public.parley_add_prices(p_entries jsonb) returns jsonb
language plpgsql volatile security definer
set search_path = public, pg_temp
as $$
declare
  caller text := public.parley_request_user();
  e record;
  new_id bigint;
  ids jsonb := '[]'::jsonb;
begin
  perform public.parley_require_ledger_admin('change the price book');
  if jsonb_typeof(p_entries) is distinct from 'array' then
    raise exception 'p_entries must be a JSON array of price entries' using errcode = '22023';
  end if;
  for e in
    select x.* from jsonb_array_elements(p_entries) with ordinality as a(value, n),
         jsonb_to_record(a.value) as x(model text, provider_model text, valid_from timestamptz,
           input numeric, output numeric, cache_read numeric, cache_write numeric,
           reasoning numeric, image numeric, tiers jsonb, source text, created_by text,
           created_at timestamptz)
    order by a.n
  loop
    insert into public.price_book (model, provider_model, valid_from, input, output, cache_read,
                                   cache_write, reasoning, image, tiers, source, created_by,
                                   created_at)
    values (e.model, coalesce(e.provider_model, ''), e.valid_from, e.input, e.output,
            e.cache_read, e.cache_write, e.reasoning, e.image, coalesce(e.tiers, '{}'::jsonb),
            e.source, coalesce(nullif(caller, ''), e.created_by, ''),
            coalesce(e.created_at, now()))
    returning id into new_id;
    ids := ids || to_jsonb(new_id);
  end loop;
  return ids;
end
$$;

-- Every entry (or p_model's), oldest valid_from first (ties: first added). Anyone signed in.
create or replace function public.parley_price_entries(p_model text default null) returns jsonb
language sql stable
set search_path = public, pg_temp
as $$
  select coalesce(jsonb_agg(jsonb_build_object(
           'id', id, 'model', model, 'provider_model', provider_model,
           'valid_from', public.parley_utc_text(valid_from), 'input', input, 'output', output,
           'cache_read', cache_read, 'cache_write', cache_write, 'reasoning', reasoning,
           'image', image, 'tiers', tiers, 'source', source, 'created_by', created_by,
           'created_at', public.parley_utc_text(created_at))
         order by model, valid_from, id), '[]'::jsonb)
  from public.price_book
  where p_model is null or model = p_model
$$;

-- Store billed lines; a line for a (provider, day, model, token class) already imported is
-- replaced. Returns how many lines were stored.
create or replace function public.parley_import_bills(p_lines jsonb, p_source_file text)
returns integer
language plpgsql volatile security definer
set search_path = public, pg_temp
as $$
declare
  stored integer;
begin
  perform public.parley_require_ledger_admin('import provider bills');
  with stored_lines as (
    insert into public.provider_bills as b (provider, day, model, token_class, tokens, billed,
                                            source_file, imported_at)
    select l.provider, l.day, l.model, l.token_class, l.tokens, l.billed,
           coalesce(p_source_file, ''), now()
    from jsonb_to_recordset(p_lines) as l(provider text, day date, model text, token_class text,
                                          tokens bigint, billed numeric)
    on conflict (provider, day, model, token_class) do update set
      tokens = excluded.tokens, billed = excluded.billed, source_file = excluded.source_file,
      imported_at = excluded.imported_at
    returning 1
  )
  select count(*) into stored from stored_lines;
  return stored;
end
$$;

-- Imported bill lines from p_since on, by day, provider, model, token class.
create or replace function public.parley_bills(p_since date default null) returns jsonb
language plpgsql stable security definer
set search_path = public, pg_temp
as $$
begin
  perform public.parley_require_ledger_admin('read provider bills');
  return (select coalesce(jsonb_agg(jsonb_build_object(
            'provider', provider, 'day', to_char(day, 'YYYY-MM-DD'), 'model', model,
            'token_class', token_class, 'tokens', tokens, 'billed', billed)
          order by day, provider, model, token_class), '[]'::jsonb)
          from public.provider_bills where p_since is null or day >= p_since);
end
$$;

-- Recorded non-demo calls per UTC day x provider x provider model (as core/store/ledgers.py
-- counts them): calls, tokens per class, Parley's cost and the provider's own figure.
create or replace function public.parley_recorded_by_day(p_since timestamptz default null)
returns jsonb
language plpgsql stable security definer
set search_path = public, pg_temp
as $$
begin
  perform public.parley_require_ledger_admin('read the recorded totals of every user');
  return (select coalesce(jsonb_agg(to_jsonb(g) order by g.day, g.provider, g.provider_model),
                          '[]'::jsonb)
          from (select to_char((created_at at time zone 'UTC')::date, 'YYYY-MM-DD') as day,
                       provider, provider_model, count(*) as calls,
                       sum(input_tokens) as input_tokens, sum(output_tokens) as output_tokens,
                       sum(cache_read_tokens) as cache_read_tokens,
                       sum(cache_write_tokens) as cache_write_tokens,
                       sum(reasoning_tokens) as reasoning_tokens,
                       coalesce(sum(total_cost), 0) as cost, sum(provider_cost) as provider_cost
                from public.request_logs
                where is_demo = false and (p_since is null or created_at >= p_since)
                group by 1, 2, 3) g);
end
$$;

-- Append one audit entry as the service role (the app); returns its id.
create or replace function public.parley_append_audit(p_actor text, p_action text,
  p_target text default '', p_before jsonb default null, p_after jsonb default null)
returns bigint
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
  new_id bigint;
begin
  if coalesce(btrim(p_actor), '') = '' or coalesce(btrim(p_action), '') = '' then
    raise exception 'An audit entry needs who acted and what they did.' using errcode = '22023';
  end if;
  insert into public.audit_log (created_at, actor, action, target, before, after)
  values (now(), p_actor, p_action, coalesce(p_target, ''), p_before, p_after)
  returning id into new_id;
  return new_id;
end
$$;

-- Audit entries, newest first, from p_since on, of one action family (a prefix: 'keys.') or
-- one actor. Admins and the service role only.
create or replace function public.parley_audit_entries(p_since timestamptz default null,
  p_action text default null, p_actor text default null, p_limit integer default 500)
returns jsonb
language plpgsql stable security definer
set search_path = public, pg_temp
as $$
begin
  perform public.parley_require_ledger_admin('read the audit log');
  return (select coalesce(jsonb_agg(jsonb_build_object(
            'id', id, 'created_at', public.parley_utc_text(created_at), 'actor', actor,
            'action', action, 'target', target, 'before', before, 'after', after)
          order by created_at desc, id desc), '[]'::jsonb)
          from (select * from public.audit_log
                where (p_since is null or created_at >= p_since)
                  and (nullif(p_action, '') is null or starts_with(action, p_action))
                  and (p_actor is null or actor = p_actor)
                order by created_at desc, id desc
                limit least(greatest(coalesce(p_limit, 500), 0), 100000)) a);
end
$$;

-- How many request_logs rows each of p_call_ids (a JSON array) has: {"id": n}, absent ids 0.
create or replace function public.parley_call_id_counts(p_call_ids jsonb) returns jsonb
language plpgsql stable security definer
set search_path = public, pg_temp
as $$
begin
  perform public.parley_require_ledger_admin('check the recorded calls');
  return (select coalesce(jsonb_object_agg(w.id, (select count(*) from public.request_logs r
                                                  where r.litellm_call_id = w.id)), '{}'::jsonb)
          from (select distinct value as id
                from jsonb_array_elements_text(coalesce(p_call_ids, '[]'::jsonb))) w);
end
$$;

-- usage_daily groups whose calls, failures, tokens or cost differ from the sums of their
-- request_logs rows (either side may be missing); [] when they agree.
create or replace function public.parley_rollup_mismatches() returns jsonb
language plpgsql stable security definer
set search_path = public, pg_temp
as $$
begin
  perform public.parley_require_ledger_admin('check the rollups');
  return (
    with r as (
      select (created_at at time zone 'UTC')::date as day, user_id, provider, model,
             service_type, is_demo, count(*) as calls,
             count(*) filter (where status = 'failure') as failures,
             sum(input_tokens) as input_tokens, sum(output_tokens) as output_tokens,
             coalesce(sum(total_cost), 0) as cost
      from public.request_logs group by 1, 2, 3, 4, 5, 6
    ), m as (
      select to_char(coalesce(r.day, u.day), 'YYYY-MM-DD') as day,
             coalesce(r.user_id, u.user_id) as user_id, coalesce(r.model, u.model) as model,
             r.calls as row_calls, u.calls as rollup_calls, r.cost as row_cost,
             u.cost as rollup_cost
      from r full outer join public.usage_daily u
        on r.day = u.day and r.user_id = u.user_id and r.provider = u.provider
       and r.model = u.model and r.service_type = u.service_type and r.is_demo = u.is_demo
      where (r.calls is null or u.calls is null or r.calls <> u.calls
             or r.failures <> u.failures or r.input_tokens <> u.input_tokens
             or r.output_tokens <> u.output_tokens or abs(r.cost - u.cost) > 1e-9)
        and (coalesce(r.calls, 0) <> 0 or coalesce(u.calls, 0) <> 0)
    )
    select coalesce(jsonb_agg(to_jsonb(m) order by m.day, m.user_id, m.model), '[]'::jsonb) from m);
end
$$;

revoke execute on function public.parley_require_ledger_admin(text) from public, anon, authenticated;
grant execute on function public.parley_require_ledger_admin(text) to service_role;
revoke execute on function public.parley_utc_text(timestamptz) from public, anon;
grant execute on function public.parley_utc_text(timestamptz) to authenticated, service_role;
revoke execute on function public.parley_price_entries(text) from public, anon;
grant execute on function public.parley_price_entries(text) to authenticated, service_role;
revoke execute on function public.parley_append_audit(text, text, text, jsonb, jsonb)
  from public, anon, authenticated;
grant execute on function public.parley_append_audit(text, text, text, jsonb, jsonb) to service_role;

do $$
declare f text;
begin
  foreach f in array array['parley_add_prices(jsonb)', 'parley_import_bills(jsonb, text)',
                           'parley_bills(date)', 'parley_recorded_by_day(timestamptz)',
                           'parley_audit_entries(timestamptz, text, text, integer)',
                           'parley_call_id_counts(jsonb)', 'parley_rollup_mismatches()'] loop
    execute format('revoke execute on function public.%s from public, anon', f);
    execute format('grant execute on function public.%s to authenticated, service_role', f);
  end loop;
end $$;
