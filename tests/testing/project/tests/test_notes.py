async def test_a_writer_creates_a_note(client, login_as, usage):
    writer = await login_as("writer")
    r = await client.post("/notes", json={"title": "Hello", "stars": 3})
    assert r.status_code == 201, r.text
    assert await usage.count("notes.create_note", user=writer) == 1
