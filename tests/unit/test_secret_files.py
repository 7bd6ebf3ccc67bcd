"""A file holding a password is shown by --diff with the password masked."""

from operations.phases.app.webapp import spellings
from operations.secret_files import MASK, masked


def test_every_occurrence_of_a_secret_is_masked():
    assert masked(["user=qm&password=s3cret&x=s3cret\n"], ["s3cret"]) == [f"user=qm&password={MASK}&x={MASK}\n"]


def test_a_secret_containing_another_is_masked_whole():
    assert masked(["a=abc123 b=abc\n"], ["abc", "abc123"]) == [f"a={MASK} b={MASK}\n"]


def test_empty_secrets_mask_nothing():
    assert masked(["keystorePass=\"\"\n"], ["", None]) == ["keystorePass=\"\"\n"]


def test_a_password_with_special_characters_is_masked_in_a_jdbc_url_inside_xml():
    password = "p&ss w/rd"
    line = '<param-value>jdbc:mariadb:sequential://h/qm?user=qm&amp;password=p%26ss+w%2Frd</param-value>\n'
    assert masked([line], spellings(password)) == [f"<param-value>jdbc:mariadb:sequential://h/qm?user=qm&amp;password={MASK}</param-value>\n"]
